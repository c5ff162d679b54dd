"""roost block / unblock / mute / unmute / blocks / mutes through the real CLI and a server
subprocess: what each prints, the lists, the refusals the blocked person meets (one line, exit
1, nothing that says "block"), mute hiding posts while messages still arrive, and bad input."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import Home


async def _json(home: Home, *args: str) -> Any:
    return json.loads((await home.ok(*args, "--json")).stdout)


async def test_block_refuses_bob_and_hides_him_until_unblocked(
    alice_and_bob_cli: tuple[Home, Home],
) -> None:
    alice, bob = alice_and_bob_cli
    await alice.ok("follow", "bob")
    await bob.ok("chat", "send", "@alice", "hello")
    await bob.ok("post", "hi @alice")
    done = await alice.ok("block", "bob")
    assert done.stderr.strip() == "blocked @bob"
    assert [u["username"] for u in (await _json(alice, "blocks"))["users"]] == ["bob"]
    shown = await alice.ok("blocks")
    assert "@bob" in shown.stdout
    profile = await alice.ok("user", "bob")
    assert "blocked by you" in profile.stdout

    for args, words in (
        (("chat", "send", "@alice", "again"), "you cannot message @alice"),
        (("follow", "alice"), "you cannot follow @alice"),
    ):
        refused = await bob.run(*args)
        assert refused.code == 1, refused
        assert refused.stderr == f"error: {words} [forbidden]\n"  # nothing says "block"
    assert await _json(bob, "blocks") == {"users": []}  # bob's own list, not alice's
    assert (await _json(alice, "notifications"))["notifications"] == []
    assert (await _json(alice, "timeline"))["posts"] == []
    history = (await _json(alice, "chat", "history", "@bob"))["messages"]
    assert [m["text"] for m in history] == ["hello"]

    undone = await _json(alice, "unblock", "bob")
    assert (undone["username"], undone["blocked"], undone["you_follow"]) == ("bob", False, False)
    assert (await alice.ok("blocks")).stderr.strip() == "you have not blocked anyone"
    await bob.ok("chat", "send", "@alice", "again")
    notes = (await _json(alice, "notifications"))["notifications"]
    assert [(n["actor"], n["kind"]) for n in notes] == [("bob", "mention")]


async def test_mute_hides_posts_but_messages_arrive(alice_and_bob_cli: tuple[Home, Home]) -> None:
    alice, bob = alice_and_bob_cli
    await alice.ok("follow", "bob")
    await bob.ok("post", "loud post")
    assert (await alice.ok("mute", "bob")).stderr.strip() == "muted @bob"
    assert [u["username"] for u in (await _json(alice, "mutes"))["users"]] == ["bob"]
    assert (await _json(alice, "timeline"))["posts"] == []
    await bob.ok("chat", "send", "@alice", "still reaches you")
    history = (await _json(alice, "chat", "history", "@bob"))["messages"]
    assert [m["text"] for m in history] == ["still reaches you"]
    assert (await alice.ok("unmute", "bob")).stderr.strip() == "unmuted @bob"
    assert [p["text"] for p in (await _json(alice, "timeline"))["posts"]] == ["loud post"]


async def test_bad_names_get_one_line(alice_and_bob_cli: tuple[Home, Home]) -> None:
    alice, _ = alice_and_bob_cli
    for args, words in (
        (("block", "nobody"), "no user 'nobody'"),
        (("mute", "alice"), "you cannot mute yourself"),
        (("block", "x"), "the user name is too short"),
    ):
        result = await alice.run(*args)
        assert result.code == 1, result
        line = result.stderr.strip()
        assert words in line and "\n" not in line and "Traceback" not in line, result
    usage = await alice.run("block")
    assert usage.code == 2
