"""A big file streams through: device B fetches its blocks while A is still uploading it, and
the file appears on B whole, only once A's commit is in the journal (docs/PROTOCOL.md, "Files
on their way"). A sender that stops half-way leaves nothing anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from client.connection import Connection
from client.errors import ServerError
from client.files import RemoteFiles
from client.sync import scan, watch
from client.sync.engine import SyncEngine
from client.sync.ignore import TEMP_PREFIX
from client.sync.streaming import StreamOut
from protocol import files as wire
from server.config import Limits
from storage.content.chunker import Chunk, chunk_bytes
from tests.conftest import LiveServer, start_server
from tests.files.helpers import Device, device, share_with


def slow_disk(monkeypatch: pytest.MonkeyPatch, seconds: float = 0.05) -> None:
    """A's disk gives up a block every `seconds`: the upload lasts long enough to watch."""
    monkeypatch.setattr(scan, "EARLY_BYTES", 1 << 20)
    real_chunks = scan.chunk_stream_parallel

    def slow(stream: BinaryIO) -> Iterator[Chunk]:
        for c in real_chunks(stream):
            time.sleep(seconds)
            yield c

    monkeypatch.setattr(scan, "chunk_stream_parallel", slow)


def incoming_temp_files(d: Device) -> list[Path]:
    return [p for p in d.root.iterdir() if p.name.startswith(f"{TEMP_PREFIX}in-")]


def streamed_bytes(d: Device) -> int:
    """What the device has written of files still on their way."""
    total = 0
    for tmp in incoming_temp_files(d):
        with contextlib.suppress(FileNotFoundError):
            total += tmp.stat().st_size
    return total


@contextlib.asynccontextmanager
async def watching(d: Device) -> AsyncIterator[None]:
    """`roost sync DIR` on the device, as a person leaves it running."""
    await d.sync()  # knows its namespaces, as a running sync does
    stop = asyncio.Event()
    task = asyncio.create_task(watch.run_forever(d.engine, stop))
    await asyncio.sleep(0.3)  # its first pass is done
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def wait_for(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def test_b_fetches_a_big_file_while_a_uploads_it_and_sees_it_only_whole(
    pair: tuple[Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    slow_disk(monkeypatch)
    data = random.Random(1).randbytes(16 << 20)
    blocks = len(list(dict.fromkeys(c.hash for c in chunk_bytes(data))))
    async with watching(b):
        a.write("film.mkv", data)
        uploading = asyncio.create_task(a.sync())
        seen_partial = False
        fetched_during_upload = 0
        while not uploading.done():
            assert not (b.root / "film.mkv").exists() or uploading.done()  # never partial
            if incoming_temp_files(b):
                seen_partial = True
                fetched_during_upload = max(fetched_during_upload, streamed_bytes(b))
            await asyncio.sleep(0.01)
        await uploading
        await wait_for(lambda: (b.root / "film.mkv").exists())
        assert b.read("film.mkv") == data
    assert seen_partial  # written aside while A uploaded
    assert fetched_during_upload >= len(data) // 2, (fetched_during_upload, len(data))
    assert b.engine.transfer is not None
    counters = b.engine.transfer.counters  # each block fetched once, and counted once
    assert (counters.blocks_fetched, counters.content_fetched) == (blocks, len(data))
    assert incoming_temp_files(b) == []


async def test_a_sender_killed_half_way_leaves_nothing_and_resumes_with_what_is_missing(
    pair: tuple[Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    slow_disk(monkeypatch)
    data = random.Random(2).randbytes(16 << 20)
    async with watching(b):
        a.write("backup.tar", data)
        uploading = asyncio.create_task(a.sync())
        await wait_for(lambda: streamed_bytes(b) > 0)
        # A is killed: nothing of it runs any more (it withdraws nothing itself); the server
        # sees its connection close
        with monkeypatch.context() as killed:
            killed.setattr(StreamOut, "close", lambda self, keep=None: asyncio.sleep(0))
            uploading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await uploading
        assert not (b.root / "backup.tar").exists()
        await (await a.client.connect()).drop()
        await wait_for(lambda: not incoming_temp_files(b))  # B dropped what it fetched
        assert not (b.root / "backup.tar").exists()
        monkeypatch.setattr(scan, "chunk_stream_parallel", scan.chunk_stream_parallel)
        a.engine = SyncEngine(a.client, a.root)  # A starts again
        await a.sync()
        await wait_for(lambda: (b.root / "backup.tar").exists())
        assert b.read("backup.tar") == data
    assert a.engine.transfer is not None
    total = len(list(dict.fromkeys(c.hash for c in chunk_bytes(data))))
    assert a.engine.transfer.counters.blocks_sent < total  # only what was missing
    conn = await b.client.connect()
    home = next(ns for ns in (await conn.call("files.namespaces")).namespaces if ns.kind == "home")
    changes = await conn.call("files.changes", wire.GetChanges(home.id, 0, 100))
    assert [e.path for e in changes.entries] == ["backup.tar"]  # one version, nothing partial


async def test_a_share_member_fetches_an_announced_file_and_a_stranger_cannot(
    alice_and_bob: tuple[Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = alice_and_bob
    alice.write("Team/readme.txt", "hi")
    await alice.sync()
    await share_with(alice, "Team", bob, "viewer")
    slow_disk(monkeypatch)
    data = random.Random(3).randbytes(12 << 20)
    async with watching(bob):
        alice.write("Team/plans.bin", data)
        uploading = asyncio.create_task(alice.sync())
        await wait_for(lambda: bool(incoming_temp_files(bob)) or uploading.done())
        assert incoming_temp_files(bob), "bob fetched nothing while alice uploaded"
        await uploading
        await wait_for(lambda: (bob.root / "Team" / "plans.bin").exists())
        assert bob.read("Team/plans.bin") == data


async def test_knowing_a_hash_and_announcing_it_grants_nothing(
    alice_and_bob: tuple[Device, Device],
) -> None:
    """Bob announces a file in his own home and stages the hash of alice's block, which he
    never uploaded: neither he nor anyone reads it through the announcement."""
    alice, bob = alice_and_bob
    secret = random.Random(4).randbytes(300_000)
    alice.write("diary.bin", secret)
    await alice.sync()
    [h] = [c.hash for c in chunk_bytes(secret)]
    conn = await bob.client.connect()
    home = next(ns for ns in (await conn.call("files.namespaces")).namespaces if ns.kind == "home")
    await conn.call("files.announce", wire.AnnounceUpload(home.id, "stolen.bin", "stolen-1234"))
    await conn.call("files.stage", wire.StageBlocks("stolen-1234", 0, [h]))
    missing = await conn.call("files.missing", wire.FindMissing(None, [h]))
    assert missing.hashes == [h]
    item = wire.CommitItem(
        "stolen.bin", None, wire.Kind.FILE, len(secret), 0, upload_id="stolen-1234", block_count=1
    )
    result = await conn.call("files.commit", wire.Commit(home.id, [item]))
    assert result.outcomes[0].code == "not_found", result


async def test_a_viewer_cannot_announce(alice_and_bob: tuple[Device, Device]) -> None:
    alice, bob = alice_and_bob
    alice.write("Team/readme.txt", "hi")
    await alice.sync()
    share = await share_with(alice, "Team", bob, "viewer")
    conn = await bob.client.connect()
    with pytest.raises(ServerError) as refused:
        await conn.call(
            "files.announce", wire.AnnounceUpload(share.namespace_id, "x.bin", "viewer-1234")
        )
    assert refused.value.code == "forbidden"


async def test_a_big_file_is_read_and_sent_while_it_settles_and_committed_once_it_rests(
    pair: tuple[Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose writer paused is read at once (its blocks travel, B fetches them), but
    committed only once it has rested: a writer that goes on makes no version of the half."""
    a, b = pair
    monkeypatch.setattr(scan, "EARLY_BYTES", 1 << 20)
    a.engine = SyncEngine(a.client, a.root, settle_ms=1500)
    first, rest = random.Random(5).randbytes(6 << 20), random.Random(6).randbytes(6 << 20)
    path = a.write("dump.bin", first)
    async with watching(b):
        await asyncio.sleep(0.4)  # the writer pauses longer than a moment
        started = time.monotonic()
        syncing = asyncio.create_task(a.sync())
        await wait_for(lambda: bool(incoming_temp_files(b)))
        assert time.monotonic() - started < 1.0  # streaming before the file has rested
        with open(path, "ab") as f:  # and goes on writing
            f.write(rest)
        await syncing
        await wait_for(lambda: (b.root / "dump.bin").exists())
        assert b.read("dump.bin") == first + rest
    history = await RemoteFiles(a.client).history("dump.bin")
    assert [v.size for v in history] == [len(first + rest)]  # one version: the whole file
    assert incoming_temp_files(b) == []


async def test_a_big_file_syncs_on_a_server_that_allows_few_ops_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ops a sync sends (missing checks, staged pages, the commit) are spaced out, and one
    refused as rate_limited is sent again when the server says: the sync does not fail."""
    server = await start_server(tmp_path / "s", Limits(ops_per_second=8, ops_burst=8))
    live = LiveServer(server)
    refused: list[str] = []
    real_call = Connection.call

    async def call(self: Connection, op: str, args: object = None) -> object:
        try:
            return await real_call(self, op, args)
        except ServerError as exc:
            refused.append(exc.code)
            raise

    monkeypatch.setattr(Connection, "call", call)
    try:
        a = await device(live, tmp_path, "alice", "laptop", register=True)
        b = await device(live, tmp_path, "alice", "desktop")
        slow_disk(monkeypatch, 0.02)
        data = random.Random(7).randbytes(24 << 20)
        async with watching(b):
            a.write("iso/disk.img", data)
            await a.sync()
            await wait_for(lambda: (b.root / "iso" / "disk.img").exists(), 60)
            assert b.read("iso/disk.img") == data
        assert "rate_limited" in refused  # the limit was met, and lived with
        await a.client.close()
        await b.client.close()
    finally:
        await server.stop()
