"""The chat screen's plain rules: receipt marks, typing expiry and throttling, the new-chat
dialog's parsing. No sockets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import chat as wire
from tui.screens.new_chat import USERNAME, NewChat, parse_new_chat
from tui.widgets.chat import TypingThrottle, TypingTracker, message_mark, typing_line

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def msg(seq: int, sender: str = "alice", kind: str = "text") -> wire.Message:
    return wire.Message("7", seq, sender, "hi", AT, kind=kind)


def receipt(user: str, delivered: int, read: int) -> wire.Receipt:
    return wire.Receipt("7", user, delivered, read, str(delivered * 100 + read))


def test_marks_on_a_direct_message_move_from_sent_to_delivered_to_read() -> None:
    members = ["alice", "bob"]
    assert message_mark(msg(3), "alice", members, []) == "✓ sent"
    assert message_mark(msg(3), "alice", members, [receipt("bob", 2, 2)]) == "✓ sent"
    assert message_mark(msg(3), "alice", members, [receipt("bob", 3, 2)]) == "✓✓ delivered"
    assert message_mark(msg(3), "alice", members, [receipt("bob", 3, 3)]) == "✓✓ read"
    # Others' messages and membership entries carry no mark.
    assert message_mark(msg(3, "bob"), "alice", members, []) == ""
    assert message_mark(msg(1, kind="created"), "alice", members, []) == ""


def test_a_group_message_is_read_only_when_everyone_read_it() -> None:
    members = ["alice", "bob", "carol"]
    some = [receipt("bob", 5, 5), receipt("carol", 4, 0)]
    assert message_mark(msg(5), "alice", members, some) == "✓✓ read by 1"
    delivered = [receipt("bob", 5, 0), receipt("carol", 5, 0)]
    assert message_mark(msg(5), "alice", members, delivered) == "✓✓ delivered"
    everyone = [receipt("bob", 5, 5), receipt("carol", 6, 6)]
    assert message_mark(msg(5), "alice", members, everyone) == "✓✓ read"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_typing_lapses_unless_repeated_and_ends_with_a_stop() -> None:
    clock = FakeClock()
    typing = TypingTracker(clock)
    typing.update(wire.Typing("7", "bob", True, 6.0))
    typing.update(wire.Typing("7", "carol", True, 6.0))
    assert typing_line(typing.who("7")) == "bob and carol are typing…"
    clock.now += 5
    typing.update(wire.Typing("7", "bob", True, 6.0))  # bob keeps typing
    clock.now += 2
    assert typing.who("7") == ["bob"]
    typing.stop("7", "bob")  # his message arrived
    assert typing_line(typing.who("7")) == ""
    typing.update(wire.Typing("7", "dan", True, 6.0))
    typing.update(wire.Typing("7", "dan", False, 6.0))
    assert typing.who("7") == [] and typing.who("other") == []


def test_typing_is_said_at_most_once_per_interval_per_conversation() -> None:
    clock = FakeClock()
    throttle = TypingThrottle(3.0, clock)
    assert throttle.should_send("7")
    assert not throttle.should_send("7")
    assert throttle.should_send("8")
    clock.now += 3
    assert throttle.should_send("7")
    throttle.reset("7")
    assert throttle.should_send("7")


def test_the_new_chat_dialog_reads_a_person_or_a_group() -> None:
    assert parse_new_chat("@Bob", "", "alice") == NewChat(target="@bob")
    assert parse_new_chat("bob, carol bob", "Allotment", "alice") == NewChat(
        group="Allotment", members=["bob", "carol"]
    )
    for people, name, reason in [
        ("", "", "name someone"),
        ("@alice", "", "name someone"),
        ("bob carol", "", "a group needs a name"),
        ("b!b", "", "is not a username"),
        ("bob", "x" * 65, "1-64 characters"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_new_chat(people, name, "alice")


@given(st.text(max_size=80), st.text(max_size=80))
def test_the_dialog_either_names_valid_people_or_says_why_in_one_line(
    people: str, name: str
) -> None:
    try:
        chat = parse_new_chat(people, name, "alice")
    except ValueError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    chosen = [chat.target[1:]] if chat.target else chat.members
    assert chosen and all(USERNAME.match(u) and u != "alice" for u in chosen)
    assert (chat.target is None) == (chat.group is not None)
    if chat.target is not None:
        wire.parse_target(chat.target)  # the server will accept it as a TARGET
