"""Offline writes: queued while the server is down, replayed once on the next connection."""

from __future__ import annotations

import json
from collections.abc import Callable

import msgspec

from client.connection import Connection
from tests.helpers import Home, ServerProcess


async def test_offline_write_is_queued_then_replayed_exactly_once(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    await alice.ok("profile", "set", "--bio", "online bio")

    assert await server_process.terminate() == 0  # graceful stop on SIGTERM

    queued = await alice.ok("profile", "set", "--bio", "written on a train")
    assert "queued" in queued.stderr and queued.stdout == ""
    as_json = await alice.ok("profile", "set", "--name", "Alice", "--json")
    assert json.loads(as_json.stdout)["queued"] is True

    outbox = json.loads((await alice.ok("outbox", "--json")).stdout)["entries"]
    assert [(e["op"], e["state"]) for e in outbox] == [("profile.set", "pending")] * 2
    assert outbox[0]["args"]["bio"] == "written on a train"
    assert outbox[0]["client_id"] != outbox[1]["client_id"]

    cached = await alice.ok("profile", "show", "--json")  # reads fall back to the cache
    assert json.loads(cached.stdout)["bio"] == "written on a train"  # with what is queued
    assert cached.stderr.startswith("offline:") and "pending:" in cached.stderr
    assert (await alice.run("devices")).code == 1  # a read with nothing cached cannot pretend

    await server_process.start()
    replayed = await alice.ok("whoami")  # any command that reaches the server replays first
    assert "sent 2 queued writes" in replayed.stderr
    assert json.loads((await alice.ok("outbox", "--json")).stdout) == {"entries": []}
    profile = json.loads((await alice.ok("profile", "show", "--json")).stdout)
    assert (profile["bio"], profile["display_name"]) == ("written on a train", "Alice")
    again = await alice.ok("whoami")
    assert "queued" not in again.stderr and "sent" not in again.stderr


async def test_replay_after_a_lost_ack_applies_once(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    laptop = make_home("laptop", server_process.url)
    phone = make_home("phone", server_process.url)
    await laptop.register("bob")
    await phone.login("bob", device="phone")

    await server_process.terminate()
    await laptop.ok("profile", "set", "--bio", "queued on the laptop")
    [entry] = json.loads((await laptop.ok("outbox", "--json")).stdout)["entries"]
    await server_process.start()

    # The first attempt reaches the server, but its ack is lost: the entry stays queued.
    token = (laptop.path / "token").read_text()
    conn = Connection(server_process.url, token)
    await conn.open()
    first = msgspec.json.decode(
        await conn.call_raw("profile.set", msgspec.json.encode(entry["args"]))
    )
    await conn.close()
    # Meanwhile the phone changes the bio.
    await phone.ok("profile", "set", "--bio", "changed on the phone")

    replayed = await laptop.ok("profile", "show", "--json")  # replays the queued entry again
    assert "sent 1 queued write\n" in replayed.stderr
    profile = json.loads(replayed.stdout)
    assert profile["bio"] == "changed on the phone"  # the replay did not apply a second time
    assert profile["updated_at"] != first["updated_at"]
    assert json.loads((await laptop.ok("outbox", "--json")).stdout) == {"entries": []}


async def test_refused_queued_write_is_kept_and_reported(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    """A queued write the server refuses is not lost silently: it stays, marked, until dropped."""
    carol = make_home("carol", server_process.url)
    await carol.register("carol")
    await server_process.terminate()
    await carol.ok("profile", "set", "--name", "ok name")
    # Simulate an entry that has become invalid (e.g. queued by an older client): too long a name.
    import sqlite3

    db = sqlite3.connect(carol.path / "client.db")
    db.execute(
        "UPDATE outbox SET args = ? ",
        (json.dumps({"display_name": "n" * 100, "client_id": "bad-entry-0001"}),),
    )
    db.commit()
    db.close()
    await carol.ok("profile", "set", "--bio", "after it")
    await server_process.start()

    result = await carol.ok("whoami")
    assert "sent 1 queued write\n" in result.stderr
    assert '(profile: name "nnn' in result.stderr  # what it was, in words
    assert "was refused: the name is too long (at most 64 characters)" in result.stderr
    assert "profile.set" not in result.stderr
    [kept] = json.loads((await carol.ok("outbox", "--json")).stdout)["entries"]
    assert kept["state"] == "refused" and kept["error"]["code"] == "invalid_args"
    assert json.loads((await carol.ok("profile", "show", "--json")).stdout)["bio"] == "after it"
    await carol.ok("outbox", "drop", str(kept["seq"]))
    assert json.loads((await carol.ok("outbox", "--json")).stdout) == {"entries": []}
