"""Chat targets as typed: people with or without @, groups by a unique name, ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.chat_targets import BadTarget, chat_target
from client.ids import BadId
from protocol import chat as wire


def conv(id: str, kind: str, name: str) -> wire.Conversation:
    return wire.Conversation(id, kind, name, [name], 0, 0, 0)


CONVERSATIONS = [
    conv("1000000000000111", "direct", "bob"),
    conv("1000000000000222", "group", "Climbing"),
    conv("1000000000000333", "group", "book club"),
    conv("1000000000000444", "group", "book club"),
    conv("1000000000000555", "group", "bob"),
]


def test_people_groups_and_ids() -> None:
    assert chat_target("@bob", CONVERSATIONS) == "@bob"
    assert chat_target("carol", CONVERSATIONS) == "@carol"
    assert chat_target("climbing", CONVERSATIONS) == "1000000000000222"
    assert chat_target("000222", CONVERSATIONS) == "1000000000000222"
    assert chat_target("#2", CONVERSATIONS, ["1000000000000111", "1000000000000333"]) == (
        "1000000000000333"
    )


def test_a_name_several_conversations_share_says_which() -> None:
    with pytest.raises(BadTarget, match="the group 1000000000000333, the group 1000000000000444"):
        chat_target("Book Club", CONVERSATIONS)
    with pytest.raises(BadTarget, match="'bob' names @bob, the group 1000000000000555"):
        chat_target("bob", CONVERSATIONS)


@given(st.text(max_size=30))
def test_anything_typed_is_a_target_or_one_line_refusal(typed: str) -> None:
    try:
        target = chat_target(typed, CONVERSATIONS)
    except (BadTarget, BadId):
        return
    assert target.startswith("@") or target.isdigit()
