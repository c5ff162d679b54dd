"""The block and mute rules without sockets: refusals on each side of a block, notifications,
which posts a reader sees, the profile exception for a muted author, and the chat batch."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import RoostError
from server.chat.commit import PendingSend, plan_batch
from server.social import block_rules as rules
from server.social.services import visible
from storage.server.social_posts import PostRecord
from storage.server.user_blocks import Between, DirectBlock, Hiding


def post(post_id: int, author: int, repost_of: int | None = None) -> PostRecord:
    return PostRecord(post_id, author, f"u{author}", "", None, repost_of, 0, None, "", "", 0, 0, 0)


def test_only_the_blocker_hears_why() -> None:
    with pytest.raises(RoostError) as mine:
        rules.check_follow(Between(i_block=True), "bob")
    assert mine.value.message == "you have blocked @bob: unblock them to follow them"
    for check, act in (
        (rules.check_follow, "follow @alice"),
        (rules.check_message, "message @alice"),
        (rules.check_group_invite, "add @alice to a group"),
    ):
        with pytest.raises(RoostError) as theirs:
            check(Between(blocks_me=True), "alice")
        assert (theirs.value.code, theirs.value.message) == ("forbidden", f"you cannot {act}")
        check(Between(i_mute=True), "alice")  # a mute refuses nothing
        check(Between(), "alice")


def test_blocking_oneself_is_refused() -> None:
    with pytest.raises(RoostError, match="you cannot block yourself"):
        rules.check_target(1, 1, "block")
    rules.check_target(1, 2, "block")


def test_notifications_stop_for_a_block_or_a_mute_of_the_actor_only() -> None:
    assert rules.notifies(Between())
    assert rules.notifies(Between(blocks_me=True))  # the actor blocked the recipient: still told
    assert not rules.notifies(Between(i_block=True))
    assert not rules.notifies(Between(i_mute=True))


@given(
    st.integers(1, 5),
    st.one_of(st.none(), st.integers(1, 5)),
    st.frozensets(st.integers(1, 5)),
)
def test_a_post_shows_unless_its_author_or_reposted_author_is_hidden(
    author: int, original_author: int | None, hidden: frozenset[int]
) -> None:
    records = {}
    if original_author is not None:
        records[100] = post(100, original_author)
    record = post(1, author, 100 if original_author is not None else None)
    expected = author not in hidden and (original_author is None or original_author not in hidden)
    assert visible(record, records, hidden) is expected


def test_a_muted_authors_own_page_still_shows_them_a_blocked_ones_nothing() -> None:
    hiding = Hiding(blocked=frozenset({2}), muted=frozenset({3, 4}))
    assert rules.hidden_on_profile(hiding, 2) is None
    assert rules.hidden_on_profile(hiding, 3) == frozenset({2, 4})
    assert rules.hidden_on_profile(hiding, 5) == frozenset({2, 3, 4})


def pending(user: int, conversation: int, text: str) -> PendingSend:
    return PendingSend(user, f"u{user}", conversation, text, None, None, None)  # type: ignore[arg-type]


def test_a_batch_refuses_both_sides_of_a_blocked_direct_conversation_and_spends_no_seq() -> None:
    blocked = rules.direct_send_refusals([DirectBlock(10, 1, 2, "alice", "bob")])
    batch = [pending(2, 10, "from bob"), pending(1, 10, "from alice"), pending(3, 20, "other")]
    plan = plan_batch(batch, {}, {10: {1, 2}, 20: {3, 4}}, {10: 7, 20: 0}, 0, blocked)
    assert [(r.conversation_id, r.seq) for _, r in plan.accepted] == [(20, 1)]
    assert [(i.text, e.message) for i, e in plan.refused] == [
        ("from bob", "you cannot message @alice"),
        ("from alice", "you have blocked @bob: unblock them to message them"),
    ]


def test_two_people_who_blocked_each_other_are_each_told_of_their_own_block() -> None:
    blocked = rules.direct_send_refusals(
        [DirectBlock(10, 1, 2, "alice", "bob"), DirectBlock(10, 2, 1, "bob", "alice")]
    )
    assert blocked[(10, 1)].message.startswith("you have blocked @bob")
    assert blocked[(10, 2)].message.startswith("you have blocked @alice")
