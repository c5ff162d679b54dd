"""Commits racing on one path through the real server, on every engine: devices of one
account commit the same path with the same parent at once, over their own connections.
Exactly one becomes the new version, every other is a `conflict` (the sync rules: the device
then keeps its edit as a conflicted copy), and the journal's seq stays gap-free. On
PostgreSQL the commits really run side by side; SQLite's single writer takes them in turn."""

from __future__ import annotations

import asyncio

from client.connection import Connection
from protocol import files as wire
from tests.conftest import LiveServer

DEVICES = 4
ROUNDS = 6


async def devices(live: LiveServer) -> tuple[list[Connection], str]:
    """alice's devices, each on its own connection, and her home namespace's id."""
    sessions = [await live.register("alice", "device0")]
    sessions += [await live.login("alice", f"device{i}") for i in range(1, DEVICES)]
    conns = [await live.connect(s.token) for s in sessions]
    [home] = (await conns[0].call("files.namespaces")).namespaces
    return conns, home.id


def edit(ns: str, parent: str | None, device: int) -> wire.Commit:
    item = wire.CommitItem("notes.txt", parent, wire.Kind.FILE, size=0, mtime_ms=device + 1)
    return wire.Commit(ns, [item])


async def test_one_of_the_racing_commits_on_a_path_wins_and_the_others_conflict(
    live: LiveServer,
) -> None:
    conns, ns = await devices(live)
    try:
        parent: str | None = None  # the first round races to create the path
        for _ in range(ROUNDS):
            results = await asyncio.gather(
                *(c.call("files.commit", edit(ns, parent, i)) for i, c in enumerate(conns))
            )
            outcomes = [r.outcomes[0] for r in results]
            won = [o.entry for o in outcomes if o.entry is not None]
            lost = [o for o in outcomes if o.entry is None]
            assert len(won) == 1, outcomes
            assert won[0].parent_id == parent
            assert all(o.code == "conflict" for o in lost), lost
            parent = won[0].version_id

        history = (await conns[0].call("files.history", wire.History(ns, "notes.txt"))).versions
        assert sorted(v.seq for v in history) == list(range(1, ROUNDS + 1))
        chain = {v.version_id: v.parent_id for v in history}
        assert sum(p is None for p in chain.values()) == 1  # one line of versions, no fork
        assert set(chain.values()) - {None} == set(chain) - {parent}
        [home] = (await conns[0].call("files.namespaces")).namespaces
        assert home.seq == ROUNDS
        changes = await conns[1].call("files.changes", wire.GetChanges(ns, 0))
        assert [(e.path, e.version_id, e.seq) for e in changes.entries] == [
            ("notes.txt", parent, ROUNDS)
        ]
    finally:
        for c in conns:
            await c.close()


async def test_a_commit_replayed_at_once_on_every_device_applies_once(live: LiveServer) -> None:
    """The same write (one client_id) arriving on several connections at once, as a client
    retrying on a new connection does: it is applied once and every answer is the first's."""
    conns, ns = await devices(live)
    try:
        commit = wire.Commit(ns, edit(ns, None, 0).items, client_id="replayed-commit-1")
        results = await asyncio.gather(*(c.call("files.commit", commit) for c in conns))
        entries = [r.outcomes[0].entry for r in results]
        assert entries[0] is not None and all(e == entries[0] for e in entries), results
        history = (await conns[0].call("files.history", wire.History(ns, "notes.txt"))).versions
        assert [v.version_id for v in history] == [entries[0].version_id]
        [home] = (await conns[0].call("files.namespaces")).namespaces
        assert home.seq == 1
    finally:
        for c in conns:
            await c.close()
