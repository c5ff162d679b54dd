"""The timeline model, without a server or Textual: pages, new posts on top, deletions,
counts updated in place (also inside reposts), reply counts, pending posts."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from client.timeline import Timeline
from protocol.social import Page, Post

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def post(pid: str, text: str = "", **fields: object) -> Post:
    return msgspec.structs.replace(Post(pid, "alice", text or f"post {pid}", NOW), **fields)


def ids(t: Timeline) -> list[str]:
    return [e.key for e in t.entries]


def test_pages_replace_and_append_without_repeats() -> None:
    t = Timeline()
    t.show_page(Page([post("5"), post("4")], "4"), replace=True)
    t.show_page(Page([post("4"), post("3")], None), replace=False)
    assert ids(t) == ["5", "4", "3"] and t.next_before is None
    t.show_page(Page([post("6"), post("5")], "5"), replace=True)
    assert ids(t) == ["6", "5"] and t.next_before == "5"


def test_a_new_post_goes_on_top_once() -> None:
    t = Timeline()
    t.show_page(Page([post("1")], None), replace=True)
    assert t.arrived(post("2"))
    assert not t.arrived(post("2"))
    assert ids(t) == ["2", "1"]


def test_a_reply_raises_its_parents_reply_count_where_it_shows() -> None:
    t = Timeline()
    original = post("1", reply_count=2)
    t.show_page(Page([post("7", repost_of="1", original=original), original], None), replace=True)
    t.arrived(post("8", reply_to="1"))
    parent = t.find("1")
    repost = t.find("7")
    assert parent is not None and parent.post.reply_count == 3
    assert repost is not None and repost.post.original is not None
    assert repost.post.original.reply_count == 3


def test_new_counts_replace_a_post_and_the_original_inside_its_reposts() -> None:
    t = Timeline()
    original = post("1")
    t.show_page(
        Page([post("7", repost_of="1", original=original), original, post("2")], None), replace=True
    )
    liked = msgspec.structs.replace(original, like_count=1, liked=True)
    assert t.updated(liked) == ["7", "1"]
    assert t.entries[0].shown_post.liked and t.entries[1].post.like_count == 1
    assert t.entries[2].post.like_count == 0


def test_a_deleted_post_leaves_with_its_reposts() -> None:
    t = Timeline()
    t.show_page(
        Page([post("7", repost_of="1", original=post("1")), post("1"), post("2")], None),
        replace=True,
    )
    assert t.deleted("1") == ["7", "1"]
    assert ids(t) == ["2"]
    assert t.deleted("9") == []


def test_a_pending_post_stays_on_top_through_a_reload_and_is_sent_in_place() -> None:
    t = Timeline()
    t.show_page(Page([post("1")], None), replace=True)
    t.queued(post("local:1", "on a train"), "client-a")
    t.show_page(Page([post("2"), post("1")], None), replace=True)
    assert ids(t) == ["client-a", "2", "1"]
    assert t.entries[0].pending_client_id == "client-a"

    sent = post("3", "on a train")
    t.arrived(sent)  # its live post.created may come before the replay's ack
    assert t.acked("client-a", sent)
    assert ids(t) == ["3", "2", "1"]  # once, where the pending one was
    assert not t.acked("client-a", sent)


def test_a_pending_post_is_never_updated_by_another_posts_counts() -> None:
    t = Timeline()
    t.queued(post("local:1"), "client-a")
    assert t.updated(post("local:1", like_count=5)) == []


def test_a_first_page_asked_before_a_live_post_does_not_take_it_out() -> None:
    t = Timeline()
    t.show_page(Page([post("1")], None), replace=True)
    later = datetime(2026, 1, 2, tzinfo=UTC)
    assert t.arrived(post("2", created_at=later))
    t.show_page(Page([post("1")], None), replace=True)  # the slow answer of a reload
    assert ids(t) == ["2", "1"]
    t.show_page(Page([post("2", created_at=later), post("1")], None), replace=True)
    assert ids(t) == ["2", "1"]


def test_a_reload_after_an_unfollow_empties_what_was_paged_in() -> None:
    t = Timeline()
    t.show_page(Page([post("1"), post("0")], None), replace=True)
    t.show_page(Page([], None), replace=True)
    assert ids(t) == []


def test_a_thread_indents_each_reply_under_what_it_answers() -> None:
    from client.timeline import thread_rows
    from protocol.social import Thread

    root = post("r")
    thread = Thread(
        post=post("p", reply_to="r"),
        ancestors=[root],
        replies=[
            post("a", reply_to="p"),
            post("b", reply_to="p"),
            post("a1", reply_to="a"),
            post("x", reply_to="gone"),  # its parent was deleted: under the post
        ],
    )
    rows = [(r.post.id, r.depth, r.focus) for r in thread_rows(thread)]
    assert rows == [
        ("r", 0, False),
        ("p", 0, True),
        ("a", 1, False),
        ("a1", 2, False),
        ("b", 1, False),
        ("x", 1, False),
    ]


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=30))
def test_every_reply_shows_once_whatever_the_shape(pairs: list[tuple[int, int]]) -> None:
    from client.timeline import thread_rows
    from protocol.social import Thread

    replies = {f"{i}": post(f"{i}", reply_to=f"{j}" if j != i else "p") for i, j in pairs}
    rows = thread_rows(Thread(post=post("p"), ancestors=[], replies=list(replies.values())))
    shown = [r.post.id for r in rows[1:]]
    assert sorted(shown) == sorted(replies)
