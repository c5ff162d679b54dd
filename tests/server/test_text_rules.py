"""The server refuses terminal control sequences in every free-text field, and names that end
in a newline, through the real client connection: nothing is stored, the refusal is one line
naming the field and the rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from client.connection import Connection
from client.core import RoostClient
from client.errors import InvalidArgs, ServerError
from protocol import social
from protocol.profiles import SetProfile
from tests.conftest import LiveServer
from tests.helpers import PASSWORD
from tests.hostile import FREE_TEXT, MULTI_LINE, SEQUENCES, unsafe_in

Build = Callable[[str], dict[str, Any]]

# An otherwise valid request for each free-text field, with `value` in that field.
REQUESTS: dict[tuple[str, str], Build] = {
    ("auth.register", "device_name"): lambda v: {
        "username": "newcomer",
        "password": PASSWORD,
        "device_name": v,
    },
    ("auth.login", "device_name"): lambda v: {
        "username": "mallory",
        "password": PASSWORD,
        "device_name": v,
    },
    ("profile.set", "display_name"): lambda v: {"display_name": v},
    ("profile.set", "bio"): lambda v: {"bio": v},
    ("post.create", "text"): lambda v: {"text": v},
    ("search.query", "query"): lambda v: {"query": v},
    ("chat.send", "text"): lambda v: {"to": "@alice", "text": v},
    ("chat.group.create", "name"): lambda v: {"name": v, "members": ["alice"]},
    ("files.attach", "name"): lambda v: {"name": v, "size": 0, "blocks": []},
}
ANONYMOUS = {"auth.register", "auth.login"}


def test_every_free_text_field_is_covered_here() -> None:
    assert set(REQUESTS) == FREE_TEXT


async def refusal(conn: Connection, op: str, args: dict[str, Any]) -> str:
    with pytest.raises(ServerError) as refused:
        await conn.call(op, args)
    assert refused.value.code == "invalid_args", refused.value
    return refused.value.message


@pytest.mark.parametrize(("op", "field"), sorted(REQUESTS))
async def test_each_hostile_sequence_is_refused_in_each_field(
    live: LiveServer, op: str, field: str
) -> None:
    await live.register("alice")
    mallory = await live.register("mallory")
    conn = await live.connect(None if op in ANONYMOUS else mallory.token)
    try:
        build = REQUESTS[(op, field)]
        values = {name: f"hi {seq} there" for name, seq in SEQUENCES.items()}
        if (op, field) not in MULTI_LINE:
            values["trailing-newline"] = "name\n"  # what `$` let through
        for what, value in values.items():
            message = await refusal(conn, op, build(value))
            assert message.startswith(f"bad {op} args: {field} must be "), (what, message)
            assert "no control characters" in message, (what, message)
            assert not unsafe_in(message) and "\n" not in message, (what, message)
        # The same request with clean text goes through (so the refusal was the text's).
        clean = "hello\n\tthere" if (op, field) in MULTI_LINE else "hello there"
        await conn.call(op, build(clean))
    finally:
        await conn.close()


async def test_nothing_hostile_was_stored(live: LiveServer) -> None:
    mallory = await live.register("mallory")
    conn = await live.connect(mallory.token)
    try:
        for seq in SEQUENCES.values():
            await refusal(conn, "post.create", {"text": seq})
            await refusal(conn, "profile.set", {"display_name": seq, "bio": seq})
        page = await conn.call("timeline.user", social.UserTimeline(username="mallory"))
        assert page.posts == []
        me = await conn.call("user.profile", social.GetUser(username="mallory"))
        assert (me.display_name, me.bio) == ("", "")
    finally:
        await conn.close()


@pytest.mark.parametrize("username", ["alice\n", "Alice\n", "alice\r\n", "\nalice"])
async def test_a_username_ending_in_a_newline_is_not_a_second_account(
    live: LiveServer, username: str
) -> None:
    await live.register("alice")
    conn = await live.connect(None)
    try:
        message = await refusal(conn, "auth.register", {"username": username, "password": PASSWORD})
        assert message == (
            "bad auth.register args: username must be 3-32 letters, digits or underscores;"
            " compared case-insensitively"
        )
        message = await refusal(conn, "auth.login", {"username": username, "password": PASSWORD})
        assert "username must be" in message
    finally:
        await conn.close()


async def test_the_client_refuses_before_sending(
    live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    """What a person types with a newline is refused by the client with the server's words,
    before anything is sent or queued."""
    async with client_home("alice") as alice:
        with pytest.raises(InvalidArgs, match="user name must be 3-32 letters"):
            await alice.register(live.url, "alice\n", PASSWORD, "laptop")
        assert alice.home.account() is None
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        with pytest.raises(InvalidArgs, match="name must be at most 64 characters"):
            await alice.write("profile.set", SetProfile(display_name="Al\x1b[2J"))
        assert await alice.outbox.count() == 0
