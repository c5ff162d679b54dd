"""Storage a user cannot take without it counting: sizes are the server's own figure, uploads
no commit uses are capped and expire, staged lists are capped and expire, idempotency keys
expire, and entries are capped. Through the real server, with the client core's transfer or
the frames a hostile client would send."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.connection import Connection
from client.errors import ClientError, ServerError
from client.files import RemoteFiles
from client.sync.transfer import Transfer
from protocol import files as wire
from protocol.profiles import SetProfile
from server.app import RoostServer
from server.config import Limits, ServerConfig
from storage.content.blocks import encode_block
from storage.database import now_ms
from storage.server.expiry import DAY_MS, expire
from tests.conftest import LiveServer, start_server
from tests.files.helpers import device
from tests.helpers import SECOND


class Mallory:
    """A logged-in connection that sends what it likes: blocks, commits, staged lists."""

    def __init__(self, conn: Connection, home: str) -> None:
        self.conn = conn
        self.home = home
        self.transfer = Transfer(conn)

    @classmethod
    async def join(cls, live: LiveServer, name: str = "mallory") -> Mallory:
        session = await live.register(name)
        conn = await live.connect(session.token)
        listed = await conn.call("files.namespaces")
        return cls(conn, listed.namespaces[0].id)

    async def put(self, data: bytes) -> str:
        h = hashlib.sha256(data).hexdigest()
        await self.transfer.put_block(h, data)
        return h

    async def put_batch(self, blocks: list[bytes]) -> list[str]:
        encoded = []
        for data in blocks:
            codec, payload = encode_block(data)
            encoded.append((hashlib.sha256(data).hexdigest(), len(data), bytes((codec,)) + payload))
        await self.transfer._send_batch(encoded)
        return [h for h, _, _ in encoded]

    async def commit(self, *items: wire.CommitItem) -> list[wire.Outcome]:
        result = await self.conn.call("files.commit", wire.Commit(self.home, list(items)))
        return list(result.outcomes)

    async def usage(self):  # type: ignore[no-untyped-def]
        return await self.conn.call("account.usage")


def file_item(path: str, blocks: list[str], size: int) -> wire.CommitItem:
    return wire.CommitItem(path=path, parent_id=None, size=size, blocks=blocks)


@pytest.fixture
async def server_with(tmp_path: Path, database_url: str | None) -> AsyncIterator:  # type: ignore[type-arg]
    """server_with(limits, **config): a live server with these limits, stopped at the end
    (one per test: on PostgreSQL it has the test's database)."""
    started: list[RoostServer] = []

    async def start(limits: Limits, **config: float) -> LiveServer:
        assert not started, "one server per test"
        server = RoostServer(
            ServerConfig(
                registration="open",
                database_url=database_url,
                data_dir=tmp_path / f"s{len(started)}",
                port=0,
                limits=limits,
                shutdown_grace=5.0,
                **config,  # type: ignore[arg-type]
            )
        )
        await server.start()
        started.append(server)
        return LiveServer(server)

    yield start
    for server in started:
        await server.stop()


async def test_six_mib_of_blocks_committed_as_one_byte_are_refused_against_a_1_mib_quota(
    tmp_path: Path, database_url: str | None
) -> None:
    """The attack of issue 19: blocks uploaded (here while the server had no quota), then
    committed with a declared size of 1 under a 1 MiB quota. The server counts the blocks."""
    data = tmp_path / "s"
    server = await start_server(data, database_url=database_url)
    mallory = await Mallory.join(LiveServer(server))
    six = [await mallory.put(os.urandom(3 << 20)) for _ in range(2)]
    await mallory.conn.close()
    await server.stop()

    server = await start_server(data, Limits(quota_bytes=1 << 20), database_url=database_url)
    try:
        session = await LiveServer(server).login("mallory")
        conn = await LiveServer(server).connect(session.token)
        mallory = Mallory(conn, (await conn.call("files.namespaces")).namespaces[0].id)
        [lie] = await mallory.commit(file_item("six.bin", six, 1))
        assert lie.entry is None and lie.code == "invalid_args"
        assert lie.message == (
            "size 1 does not match the 6,291,456 bytes its blocks hold"
            " (the server counts sizes from the blocks)"
        )
        [honest] = await mallory.commit(file_item("six.bin", six, 6 << 20))
        assert honest.code == "quota_exceeded"
        assert (honest.message or "").startswith("quota exceeded: 0 B of 1.0 MiB used")
        usage = await mallory.usage()
        assert (usage.used_bytes, usage.entries) == (0, 0)
        await conn.close()
    finally:
        await server.stop()


async def test_attachments_and_restores_count_the_blocks_too(server_with) -> None:  # type: ignore[no-untyped-def]
    live = await server_with(Limits())
    mallory = await Mallory.join(live)
    block = await mallory.put(os.urandom(3000))
    with pytest.raises(ServerError) as lie:
        await mallory.conn.call("files.attach", wire.Attach("scan.bin", 1, [block]))
    assert lie.value.code == "invalid_args" and "does not match the 3,000 bytes" in str(lie.value)
    await mallory.conn.call("files.attach", wire.Attach("scan.bin", 3000, [block]))
    usage = await mallory.usage()
    assert (usage.used_bytes, usage.entries, usage.uncommitted_bytes) == (3000, 1, 0)

    # A version an older server took with a false size: restoring it counts the blocks.
    [first] = await mallory.commit(file_item("doc.bin", [block], 3000))
    assert first.entry is not None
    async with live.server.db.write() as tx:
        await tx.execute(
            "UPDATE file_versions SET size = 1 WHERE id = ?", (int(first.entry.version_id),)
        )
    gone = wire.CommitItem("doc.bin", first.entry.version_id, deleted=True)
    [deleted] = await mallory.commit(gone)
    assert deleted.entry is not None
    back = await mallory.conn.call(
        "files.restore", wire.Restore(mallory.home, "doc.bin", first.entry.version_id)
    )
    assert back.size == 3000


async def test_uploads_no_commit_uses_are_capped_until_committed(server_with) -> None:  # type: ignore[no-untyped-def]
    live = await server_with(Limits(max_uncommitted_bytes=1 << 20))
    mallory = await Mallory.join(live)
    blocks = [os.urandom(300 << 10) for _ in range(5)]
    sent = [await mallory.put(data) for data in blocks[:4]]  # 1.17 MiB: the last went over
    with pytest.raises(ServerError) as refused:
        await mallory.put(blocks[4])
    assert refused.value.code == "quota_exceeded"
    assert str(refused.value) == (
        "uploads waiting for a commit are at this server's limit: 1.2 MiB of 1.0 MiB;"
        " commit them, or they expire after 24 h"
    )
    with pytest.raises(ServerError, match="uploads waiting for a commit"):  # batches too
        await mallory.put_batch([os.urandom(1000), os.urandom(1000)])
    usage = await mallory.usage()
    assert (usage.uncommitted_bytes, usage.max_uncommitted_bytes) == (1200 << 10, 1 << 20)
    # another user is not held back by mallory's uploads
    other = await Mallory.join(live, "olive")
    await other.put(os.urandom(300 << 10))

    [done] = await mallory.commit(file_item("two.bin", sent[:2], 600 << 10))
    assert done.entry is not None  # committed: those no longer wait
    assert (await mallory.usage()).uncommitted_bytes == 600 << 10
    await mallory.put(blocks[4])

    # Uploads past their age are forgotten (the server's timer does this; here, now + a day).
    await expire(live.server.db, now_ms() + DAY_MS + 1)
    assert (await mallory.usage()).uncommitted_bytes == 0
    [late] = await mallory.commit(file_item("late.bin", sent[2:3], 300 << 10))
    assert late.code == "not_found"  # the client sends it again


async def test_staged_lists_are_capped_per_user(server_with) -> None:  # type: ignore[no-untyped-def]
    live = await server_with(Limits(max_staged_blocks=1000))
    mallory = await Mallory.join(live)
    page = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(800)]
    await mallory.conn.call("files.stage", wire.StageBlocks("list-one", 0, page))
    await mallory.conn.call("files.stage", wire.StageBlocks("list-one", 0, page))  # replaced
    with pytest.raises(ServerError) as refused:
        await mallory.conn.call("files.stage", wire.StageBlocks("list-two", 0, page))
    assert refused.value.code == "quota_exceeded"
    assert str(refused.value) == (
        "too many staged blocks: this needs 1,600 of this server's limit of 1,000;"
        " commit what is staged, or it expires after 24 h"
    )
    other = await Mallory.join(live, "olive")
    await other.conn.call("files.stage", wire.StageBlocks("list-two", 0, page))
    # a commit naming the list takes it, accepted or not
    item = wire.CommitItem("x.bin", None, size=1, upload_id="list-one", block_count=800)
    [outcome] = await mallory.commit(item)
    assert outcome.code == "not_found"
    await mallory.conn.call("files.stage", wire.StageBlocks("list-two", 0, page))


async def test_the_servers_timer_forgets_uploads_staged_lists_and_keys_past_their_age(
    server_with,  # type: ignore[no-untyped-def]
) -> None:
    live = await server_with(Limits(upload_age_ms=300, idempotency_age_ms=300), expire_every=0.1)
    mallory = await Mallory.join(live)
    block = await mallory.put(os.urandom(5000))
    await mallory.conn.call("files.stage", wire.StageBlocks("list-one", 0, [block]))
    first = await mallory.conn.call("profile.set", SetProfile(bio="first", client_id="bio-key-1"))
    await mallory.conn.call("profile.set", SetProfile(bio="second"))
    replay = SetProfile(bio="first", client_id="bio-key-1")
    assert (await mallory.conn.call("profile.set", replay)).bio == first.bio  # within the age
    assert (await mallory.conn.call("profile.get")).bio == "second"  # changed nothing

    async with asyncio.timeout(10 * SECOND):
        while (await mallory.usage()).uncommitted_bytes:
            await asyncio.sleep(0.05)
        while True:  # past its age, the replay runs again (before, it answers as it did)
            await mallory.conn.call("profile.set", replay)
            if (await mallory.conn.call("profile.get")).bio == "first":
                break
            await asyncio.sleep(0.05)
    staged = wire.CommitItem("x.bin", None, size=5000, upload_id="list-one", block_count=1)
    [outcome] = await mallory.commit(staged)
    assert outcome.code == "invalid_args" and "0 blocks staged" in (outcome.message or "")


async def test_entries_past_the_limit_are_refused_but_deletions_still_go(
    server_with,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    live = await server_with(Limits(max_entries=5))
    mallory = await Mallory.join(live)
    empties = [file_item(f"empty-{i}", [], 0) for i in range(6)]
    outcomes = await mallory.commit(*empties)
    assert [o.entry is not None for o in outcomes] == [True] * 5 + [False]
    assert outcomes[5].code == "quota_exceeded"
    assert outcomes[5].message == (
        "too many entries: 5 kept of this server's limit of 5 (file versions, deletions and"
        " attachments); purge old versions to make room"
    )
    first = outcomes[0].entry
    assert first is not None
    [gone] = await mallory.commit(wire.CommitItem("empty-0", first.version_id, deleted=True))
    assert gone.entry is not None and gone.entry.deleted  # cleaning up is never refused
    with pytest.raises(ServerError, match="too many entries"):
        await mallory.conn.call("files.attach", wire.Attach("a.txt", 0, []))
    usage = await mallory.usage()
    assert (usage.entries, usage.max_entries) == (6, 5)
    purged = await mallory.conn.call("files.purge", wire.Purge(mallory.home, "empty-0"))
    assert purged.versions == 1
    assert (await mallory.usage()).entries == 5

    # the client refuses before sending anything, as the server would
    alice = await device(live, tmp_path, "alice", "laptop", register=True)
    files = RemoteFiles(alice.client)
    for i in range(5):
        local = tmp_path / f"note-{i}.txt"
        local.write_text(str(i))
        await files.put(local)
    with pytest.raises(ClientError, match="too many entries: 5 kept"):
        await files.put(local)
    assert (await files.transfer()).counters.blocks_sent == 5
    await alice.client.close()


async def test_commits_racing_for_the_last_of_a_quota_take_it_once(server_with) -> None:  # type: ignore[no-untyped-def]
    """With 1.5 MiB of a 2 MiB quota used, four devices commit 400 KiB each at once: one
    fits, the others are refused; the winner's file is then deleted and purged, and they race
    again. (On PostgreSQL the commits run side by side: each must see what the others took.)"""
    live = await server_with(Limits(quota_bytes=2 << 20))
    first = await Mallory.join(live)
    size, used = 400 << 10, 1536 << 10
    devices = [first]
    for i in range(1, 4):
        session = await live.login("mallory", f"device{i}")
        devices.append(Mallory(await live.connect(session.token), first.home))
    try:
        base = file_item("base.bin", [await first.put(os.urandom(used))], used)
        assert (await first.commit(base))[0].entry is not None
        blocks = [await m.put(os.urandom(size)) for m in devices]  # refused ones stay uploaded
        for round_ in range(5):
            outcomes = await asyncio.gather(
                *(
                    m.commit(file_item(f"r{round_}-{i}.bin", [b], size))
                    for i, (m, b) in enumerate(zip(devices, blocks, strict=True))
                )
            )
            codes = [str(o.code) for [o] in outcomes]
            assert sorted(codes) == ["None"] + ["quota_exceeded"] * 3, outcomes
            usage = await first.usage()
            assert usage.used_bytes == used + size, (round_, usage)
            won = codes.index("None")
            [entry] = [o.entry for [o] in outcomes if o.entry is not None]
            gone = wire.CommitItem(entry.path, entry.version_id, deleted=True)
            assert (await first.commit(gone))[0].entry is not None
            await first.conn.call("files.purge", wire.Purge(first.home, entry.path))
            blocks[won] = await devices[won].put(os.urandom(size))  # its block was freed
    finally:
        for m in devices:
            await m.conn.close()
