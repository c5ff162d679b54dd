"""`roost chat ...` as people use it: several users, each with their own ROOST_HOME."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.helpers import Home, ServerProcess


async def test_direct_and_group_chat_with_unread_counts_and_receipts(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice, bob, carol = (make_home(n, server_process.url) for n in ("alice", "bob", "carol"))
    for home, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        await home.register(name)

    sent = json.loads((await alice.ok("chat", "send", "@bob", "hi bob", "--json")).stdout)
    assert (sent["seq"], sent["sender"], sent["text"]) == (1, "alice", "hi bob")
    await alice.ok("chat", "send", "@bob", "second")
    group_id = (await alice.ok("chat", "group", "garden", "bob", "@carol")).stdout.strip()
    assert group_id.isdigit()
    await carol.ok("chat", "send", group_id, "hello garden")

    listed = {
        c["id"]: c
        for c in json.loads((await bob.ok("chat", "list", "--json")).stdout)["conversations"]
    }
    assert listed[sent["conversation"]]["unread"] == 2
    assert listed[group_id]["unread"] == 1
    assert listed[group_id]["members"] == ["alice", "bob", "carol"]
    table = (await bob.ok("chat", "list")).stdout
    assert "garden" in table and "@alice" in table

    history = json.loads((await bob.ok("chat", "history", "@alice", "--json")).stdout)["messages"]
    assert [(m["seq"], m["sender"], m["text"]) for m in history] == [
        (1, "alice", "hi bob"),
        (2, "alice", "second"),
    ]
    assert set(history[0]) >= {"conversation", "seq", "sender", "text", "sent_at"}
    page = json.loads(
        (
            await bob.ok("chat", "history", group_id, "--limit", "1", "--before", "2", "--json")
        ).stdout
    )["messages"]
    assert [m["kind"] for m in page] == ["created"]
    text = (await bob.ok("chat", "history", group_id)).stdout
    assert "created the group 'garden'" in text and "carol: hello garden" in text

    read = await bob.ok("chat", "read", "@alice")
    assert "read up to #2" in read.stderr
    listed = {
        c["id"]: c
        for c in json.loads((await bob.ok("chat", "list", "--json")).stdout)["conversations"]
    }
    assert listed[sent["conversation"]]["unread"] == 0

    await alice.ok("chat", "remove", group_id, "carol")
    refused = await carol.run("chat", "send", group_id, "still here?")
    assert (
        refused.code == 1 and refused.stderr.startswith("error: ") and "not_found" in refused.stderr
    )
    assert refused.stderr.count("\n") == 1
    await bob.ok("chat", "leave", group_id)
    [mine] = [
        c
        for c in json.loads((await bob.ok("chat", "list", "--json")).stdout)["conversations"]
        if c["id"] == group_id
    ]
    assert mine["member"] is False

    bad = await alice.run("chat", "send", "no one!", "hi")
    assert bad.code == 1 and "no group called 'no one!', nor a user" in bad.stderr
    missing = await alice.run("chat", "send", "@nobody", "hi")
    assert missing.code == 1 and "no user @nobody" in missing.stderr


async def test_offline_send_is_queued_history_is_cached_and_replay_delivers_once(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice, bob = make_home("alice", server_process.url), make_home("bob", server_process.url)
    await alice.register("alice")
    await bob.register("bob")
    await alice.ok("chat", "send", "@bob", "before the train")
    await alice.ok("chat", "history", "@bob")

    await server_process.terminate()
    queued = await alice.ok("chat", "send", "@bob", "on the train", "--json")
    assert json.loads(queued.stdout)["queued"] is True and "queued" in queued.stderr
    cached = await alice.ok("chat", "history", "@bob")
    assert cached.stderr.startswith("offline:")
    assert "alice: before the train" in cached.stdout and "(queued)  on the train" in cached.stdout
    cached_json = json.loads((await alice.ok("chat", "history", "@bob", "--json")).stdout)
    assert [m["text"] for m in cached_json["messages"]] == ["before the train"]
    nothing = await alice.run("chat", "history", "@carol")
    assert nothing.code == 1 and "unreachable" in nothing.stderr

    await server_process.start()
    replayed = await alice.ok("chat", "list")
    assert "sent 1 queued write\n" in replayed.stderr
    again = await alice.ok("chat", "list")  # replayed once, not twice
    assert "sent" not in again.stderr
    history = json.loads((await bob.ok("chat", "history", "@alice", "--json")).stdout)["messages"]
    assert [(m["seq"], m["text"]) for m in history] == [
        (1, "before the train"),
        (2, "on the train"),
    ]


async def test_chat_list_puts_the_latest_activity_first(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice, bob, carol = (make_home(n, server_process.url) for n in ("alice", "bob", "carol"))
    for home, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        await home.register(name)

    def order(stdout: str) -> list[str]:
        return [c["name"] for c in json.loads(stdout)["conversations"]]

    await alice.ok("chat", "send", "@bob", "older chat")
    await alice.ok("chat", "send", "@carol", "newer chat")
    garden = (await alice.ok("chat", "group", "garden", "bob")).stdout.strip()
    assert order((await alice.ok("chat", "list", "--json")).stdout) == ["garden", "carol", "bob"]

    await bob.ok("chat", "send", "@alice", "the oldest chat speaks again")
    assert order((await alice.ok("chat", "list", "--json")).stdout) == ["bob", "garden", "carol"]
    await bob.ok("chat", "send", garden, "and the group")
    assert order((await alice.ok("chat", "list", "--json")).stdout) == ["garden", "bob", "carol"]
