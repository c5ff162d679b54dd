"""Chat targets: `@user` or a conversation id; anything else is a clear invalid_args."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import chat as wire
from protocol.errors import RoostError
from protocol.ops import OPS

usernames = st.from_regex(r"\A[A-Za-z0-9_]{3,32}\Z")


@given(usernames)
def test_at_user_is_a_direct_target(name: str) -> None:
    assert wire.parse_target("@" + name) == wire.DirectTarget(name.lower())


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_an_id_is_a_conversation_target(value: int) -> None:
    assert wire.parse_target(str(value)) == wire.ConversationTarget(value)


@given(st.text(max_size=60))
def test_anything_else_is_refused_with_invalid_args(text: str) -> None:
    try:
        parsed = wire.parse_target(text)
    except RoostError as exc:
        assert exc.code == "invalid_args" and "\n" not in exc.message
        return
    assert text.startswith("@") or text.isdigit()
    assert isinstance(parsed, wire.DirectTarget | wire.ConversationTarget)


@pytest.mark.parametrize("bad", ["bob", "@b", "@bob!", "12a", "", "@", "99999999999999999999"])
def test_wire_validation_names_the_field(bad: str) -> None:
    with pytest.raises(RoostError) as err:
        OPS["chat.send"].decode_args(msgspec.json.encode({"to": bad, "text": "hi"}))
    assert err.value.code == "invalid_args" and "to" in err.value.message


def test_message_length_is_limited() -> None:
    with pytest.raises(RoostError) as err:
        OPS["chat.send"].decode_args(msgspec.json.encode({"to": "@bob", "text": "x" * 4001}))
    assert "text is too long (at most 4000 characters)" in err.value.message
    with pytest.raises(RoostError):
        OPS["chat.send"].decode_args(msgspec.json.encode({"to": "@bob", "text": ""}))
