"""The social commands through the real CLI and a server subprocess, online and offline."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers import Home, ServerProcess


async def _json(home: Home, *args: str) -> Any:
    return json.loads((await home.ok(*args, "--json")).stdout)


async def test_post_follow_timeline_and_notifications(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    bob = make_home("bob", server_process.url)
    await alice.register("alice")
    await bob.register("bob")
    await bob.ok("follow", "alice")
    first = await _json(alice, "post", "hello #roost, @bob")
    assert {"id", "author", "text", "created_at", "reply_to", "repost_of", "like_count"} <= set(
        first
    )
    assert (first["mentions"], first["tags"]) == (["bob"], ["roost"])
    await bob.ok("like", first["id"])
    reply = await _json(bob, "post", "hi back", "--reply-to", first["id"])
    assert reply["reply_to"] == first["id"]

    home = await _json(bob, "timeline")
    assert [p["text"] for p in home["posts"]] == ["hi back", "hello #roost, @bob"]
    assert home["posts"][1]["like_count"] == 1
    mine = await _json(bob, "timeline", "--user", "alice", "--limit", "1")
    assert [p["id"] for p in mine["posts"]] == [first["id"]]

    notes = await _json(alice, "notifications")
    assert [n["kind"] for n in notes["notifications"]] == ["reply", "like", "follow"]
    read = await alice.ok("notifications", "--read")
    assert "@bob replied to you" in read.stdout and "marked as read" in read.stderr
    assert (await _json(alice, "notifications"))["unread"] == 0
    assert (await _json(bob, "notifications"))["notifications"][0]["kind"] == "mention"

    shown = await bob.ok("timeline")
    assert "@alice" in shown.stdout and "hello #roost, @bob" in shown.stdout
    assert [u["username"] for u in (await _json(alice, "followers"))["users"]] == ["bob"]
    assert [u["username"] for u in (await _json(bob, "following"))["users"]] == ["alice"]
    assert [p["id"] for p in (await _json(bob, "search", "hello"))["posts"]] == [first["id"]]
    assert (await _json(bob, "trending"))["tags"][0]["tag"] == "roost"
    assert await _json(bob, "suggest") == {"users": []}
    profile = await _json(bob, "user", "alice")
    assert (profile["followers"], profile["posts"], profile["you_follow"]) == (1, 1, True)


async def test_refusals_are_one_line_errors(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    bob = make_home("bob", server_process.url)
    await alice.register("alice")
    await bob.register("bob")
    post = await _json(alice, "post", "mine")
    cases = [
        (bob, ("delete", post["id"]), "error: you can only delete your own posts [forbidden]"),
        (bob, ("like", "424242"), "error: no post 424242 [not_found]"),
        (bob, ("follow", "nobody"), "error: no user 'nobody' [not_found]"),
        (alice, ("post", "x" * 281), "error: a post is at most 280 characters; this one has 281"),
        (alice, ("like", "local:99"), "error: local:99 is not a queued post (see roost outbox)"),
    ]
    for home, args, message in cases:
        result = await home.run(*args)
        assert (result.code, result.stderr.strip()) == (1, message), args
    assert (await _json(alice, "timeline", "--user", "alice"))["posts"][0]["id"] == post["id"]


async def test_offline_writes_refer_to_queued_posts_by_local_id(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    bob = make_home("bob", server_process.url)
    await alice.register("alice")
    await bob.register("bob")
    await alice.ok("follow", "bob")
    online = await _json(bob, "post", "posted while alice was online")
    await _json(alice, "timeline")  # cached for the trip
    await _json(alice, "notifications")

    await server_process.terminate()
    queued = await _json(alice, "post", "written on a train")
    assert queued["queued"] is True and queued["local_id"].startswith("local:")
    local = queued["local_id"]
    note = await alice.ok("post", "and a reply to it", "--reply-to", local)
    assert "queued" in note.stderr
    await alice.ok("like", local)
    await alice.ok("like", online["id"])
    cached = await alice.ok("timeline", "--json")
    assert cached.stderr.startswith("offline:")
    assert [p["text"] for p in json.loads(cached.stdout)["posts"]] == [
        "posted while alice was online"
    ]
    assert (await alice.ok("notifications")).stderr.startswith("offline:")

    await server_process.start()
    replay = await alice.ok("whoami")
    assert "sent 4 queued writes" in replay.stderr
    posts = (await _json(alice, "timeline"))["posts"]
    assert [p["text"] for p in posts] == [
        "and a reply to it",
        "written on a train",
        "posted while alice was online",
    ]
    reply, train, bobs = posts
    assert reply["reply_to"] == train["id"]  # the local id was swapped for the server's
    assert (train["like_count"], train["liked"], train["reply_count"]) == (1, True, 1)
    assert bobs["like_count"] == 1
    assert await _json(alice, "outbox") == {"entries": []}

    # A second replay (e.g. after a lost ack) applies nothing twice.
    again = await alice.ok("whoami")
    assert "sent" not in again.stderr
    assert len((await _json(alice, "timeline"))["posts"]) == 3


async def test_reference_to_a_dropped_queued_post_is_kept_and_reported(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    carol = make_home("carol", server_process.url)
    await carol.register("carol")
    await server_process.terminate()
    local = (await _json(carol, "post", "never mind"))["local_id"]
    await carol.ok("like", local)
    entries = (await _json(carol, "outbox"))["entries"]
    await carol.ok("outbox", "drop", str(entries[0]["seq"]))
    await server_process.start()
    result = await carol.ok("whoami")
    assert "refers to a queued post the server did not accept" in result.stderr
    [kept] = (await _json(carol, "outbox"))["entries"]
    assert (kept["op"], kept["state"], kept["error"]["code"]) == (
        "post.like",
        "refused",
        "unresolved",
    )


async def test_serve_celebrity_threshold_option(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    """`roost serve --celebrity-threshold 0`: every author with a follower is merged at read
    time; nothing is copied into followers' timelines, yet they see the posts."""
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--celebrity-threshold", "0")
    ).start()
    try:
        alice = make_home("alice", server.url)
        bob = make_home("bob", server.url)
        await alice.register("alice")
        await bob.register("bob")
        await bob.ok("follow", "alice")
        posted = await _json(alice, "post", "merged, not copied")
        assert [p["id"] for p in (await _json(bob, "timeline"))["posts"]] == [posted["id"]]
    finally:
        await server.terminate()
    db = sqlite3.connect(tmp_path / "data" / "roost.db")
    rows = db.execute(
        "SELECT u.username FROM timeline t JOIN users u ON u.id = t.user_id WHERE t.post_id = ?",
        (int(posted["id"]),),
    ).fetchall()
    db.close()
    assert rows == [("alice",)]  # only the author's own timeline row


async def test_post_with_attachments_then_media_get(
    server_process: ServerProcess, alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, bob = alice_and_bob_cli
    await bob.ok("follow", "alice")
    (tmp_path / "plan.txt").write_text("step one")
    (tmp_path / "map.bin").write_bytes(bytes(range(256)) * 8)
    posted = await _json(
        alice, "post", "the plan", "--attach", str(tmp_path / "plan.txt"),
        "--attach", str(tmp_path / "map.bin"),
    )  # fmt: skip
    assert [(a["name"], a["size"]) for a in posted["attachments"]] == [
        ("plan.txt", 8), ("map.bin", 2048)
    ]  # fmt: skip
    [on_home] = (await _json(bob, "timeline"))["posts"]
    assert on_home["attachments"] == posted["attachments"]
    readable = (await bob.ok("timeline")).stdout
    assert "plan.txt" in readable and "8 B" in readable and "2.0 KiB" in readable

    got = await bob.ok("media", "get", posted["id"], "-o", str(tmp_path / "got"))
    assert "plan.txt ->" in got.stderr and "map.bin ->" in got.stderr
    assert (tmp_path / "got" / "plan.txt").read_text() == "step one"
    assert (tmp_path / "got" / "map.bin").read_bytes() == (tmp_path / "map.bin").read_bytes()
    one = posted["attachments"][0]["id"]
    await bob.ok("media", "get", one, "-o", str(tmp_path / "one.txt"))
    assert (tmp_path / "one.txt").read_text() == "step one"

    await alice.ok("delete", posted["id"])
    gone = await bob.run("media", "get", one, "-o", str(tmp_path / "again.txt"))
    assert gone.code == 1 and not (tmp_path / "again.txt").exists()
    assert gone.stderr == f"error: no post or attachment {one} [not_found]\n"

    await server_process.terminate()
    offline = await alice.run("post", "later", "--attach", str(tmp_path / "plan.txt"))
    assert offline.code == 1 and offline.stdout == ""
    assert offline.stderr == "error: cannot attach while offline; nothing was posted or queued\n"
    assert json.loads((await alice.ok("outbox", "--json")).stdout) == {"entries": []}
    queued = await alice.ok("post", "text only still queues")
    assert "queued" in queued.stderr
