"""Locked accounts through the real CLI and a server subprocess: `profile set --locked`,
`follow` as a request, `requests` / `requests approve` / `requests decline`, and what a
pending follower, an approved one and a declined one see."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import Home


async def _json(home: Home, *args: str) -> Any:
    return json.loads((await home.ok(*args, "--json")).stdout)


async def _sees(home: Home, post_id: str) -> dict[str, Any]:
    thread = await home.run("thread", post_id)
    return {
        "home": [p["id"] for p in (await _json(home, "timeline"))["posts"]],
        "user": [p["id"] for p in (await _json(home, "timeline", "--user", "alice"))["posts"]],
        "search": [p["id"] for p in (await _json(home, "search", "garden"))["posts"]],
        "thread": thread.code if thread.code else post_id,
    }


async def test_locked_account_through_the_cli(
    alice_and_bob_cli: tuple[Home, Home], make_home: Any
) -> None:
    alice, bob = alice_and_bob_cli
    carol = make_home("carol", alice.server_url)
    await carol.register("carol")

    locked = await _json(alice, "profile", "set", "--locked")
    assert locked["locked"] is True
    shown = await alice.ok("profile", "show")
    assert "🔒 locked" in shown.stdout
    post = await _json(alice, "post", "the garden plan")
    nothing = {"home": [], "user": [], "search": [], "thread": 1}

    asked = await bob.ok("follow", "alice")
    assert asked.stderr.strip() == "requested: @alice approves follow requests"
    profile = await _json(bob, "user", "alice")
    assert (profile["locked"], profile["requested"], profile["you_follow"]) == (True, True, False)
    assert "you asked to follow them" in (await bob.ok("user", "alice")).stdout
    assert await _sees(bob, post["id"]) == nothing
    refused = await bob.run("thread", post["id"])
    assert refused.stderr.strip() == f"error: no post {post['id']} [not_found]"

    assert [r["username"] for r in (await _json(alice, "requests"))["requests"]] == ["bob"]
    listed = await alice.ok("requests")
    assert "@bob" in listed.stdout and "roost requests approve USER" in listed.stderr
    noted = await alice.ok("notifications")
    assert "@bob asks to follow you" in noted.stdout

    approved = await alice.ok("requests", "approve", "bob")
    assert approved.stderr.strip() == "approved: @bob follows you now"
    assert await _sees(bob, post["id"]) == {
        "home": [post["id"]],
        "user": [post["id"]],
        "search": [post["id"]],
        "thread": post["id"],
    }
    told = await _json(bob, "notifications")
    assert [(n["kind"], n["actor"]) for n in told["notifications"]] == [
        ("follow_accepted", "alice")
    ]
    assert "@alice approved your follow request" in (await bob.ok("notifications")).stdout

    await carol.ok("follow", "alice")
    declined = await alice.ok("requests", "decline", "carol")
    assert declined.stderr.strip() == "declined @carol's request"
    assert await _sees(carol, post["id"]) == nothing
    assert (await _json(alice, "requests")) == {"requests": []}
    assert "no follow requests waiting" in (await alice.ok("requests")).stderr

    for args, message in (
        (("requests", "approve", "carol"), "error: no follow request from @carol [not_found]"),
        (("requests", "decline", "nobody"), "error: no user 'nobody' [not_found]"),
        (
            ("profile", "set"),
            "error: nothing to change: give --name, --bio, --locked or --unlocked",
        ),
    ):
        result = await alice.run(*args)
        assert (result.code, result.stderr.strip()) == (1, message), args
    # carol cannot answer a request to alice: she finds none
    await carol.ok("unfollow", "alice")
    await carol.ok("follow", "alice")
    stolen = await bob.run("requests", "approve", "carol")
    assert stolen.code == 1 and "no follow request from @carol" in stolen.stderr

    opened = await _json(alice, "profile", "set", "--unlocked")
    assert opened["locked"] is False
    # unlocking approved carol's waiting request
    assert (await _json(carol, "user", "alice"))["you_follow"] is True
    assert (await _sees(carol, post["id"]))["home"] == [post["id"]]
