"""Block collection: an upload that re-stores a block while it is being collected keeps it;
abandoned uploads go once past the grace period; leftovers of crashes are found."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from client.files import RemoteFiles
from storage.content.blocks import BlockMissing, LocalBlockStore, encode_block
from storage.server import space
from tests.conftest import LiveServer
from tests.files.helpers import device


def _stored(store: LocalBlockStore, data: bytes, *, age: float) -> bytes:
    digest = hashlib.sha256(data).digest()
    codec, payload = encode_block(data)
    store.put(digest, bytes((codec,)) + payload)
    name = digest.hex()
    past = time.time() - age
    os.utime(store.root / name[:2] / name[2:], (past, past))
    return digest


def test_an_idle_block_is_deleted_and_its_size_reported(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path, fsync=False)
    digest = _stored(store, b"old bytes" * 100, age=7200)
    assert store.collect(digest, idle_before=time.time() - 3600) > 0
    assert not store.has(digest)
    assert store.collect(digest, idle_before=time.time()) is None  # already gone


def test_a_block_stored_again_before_collection_is_kept(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path, fsync=False)
    data = b"shared bytes" * 100
    digest = _stored(store, data, age=7200)
    codec, payload = encode_block(data)
    store.put(digest, bytes((codec,)) + payload)  # a new upload of the same block: refreshed
    assert store.collect(digest, idle_before=time.time() - 3600) == 0
    assert store.get(digest)[1:] == payload
    assert list(tmp_path.glob("??/.*")) == []  # nothing left aside


def test_orphan_listing_and_stale_temp_files(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path, fsync=False)
    digest = _stored(store, b"x" * 10, age=0)
    (tmp_path / digest.hex()[:2] / ".leftover.tmp").write_bytes(b"half")
    assert [d for d, _ in store.digests()] == [digest]
    assert store.remove_stale_temps(older_than=time.time() + 1) == 4
    assert store.has(digest)


async def test_abandoned_uploads_are_collected_in_short_transactions(
    live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks uploaded and never committed are collected once past the grace period, a few
    per transaction, while the server keeps running."""
    alice = await device(live, tmp_path, "alice", "laptop", register=True)
    try:
        files = RemoteFiles(alice.client)
        for i in range(5):
            local = tmp_path / f"abandoned{i}"
            local.write_bytes(os.urandom(1000))
            await files.upload_blocks(local)
        server = live.server._services
        assert server is not None and isinstance(server.blocks, LocalBlockStore)
        young = await space.collect_garbage(server.db, server.blocks, grace_seconds=3600)
        assert young.blocks == 0
        monkeypatch.setattr(space, "GC_BATCH", 2)
        done = await space.collect_garbage(
            server.db, server.blocks, grace_seconds=0, now=time.time() + 1
        )
        assert done.blocks == 5 and done.bytes > 5000
        assert list(server.blocks.digests()) == []
        await files.put(tmp_path / "abandoned0")  # uploaded again, as if new
    finally:
        await alice.client.close()


def _packed(store: LocalBlockStore, blobs: list[bytes], *, age: float) -> list[bytes]:
    """Store `blobs` together (one pack), made `age` seconds old."""
    items = []
    for data in blobs:
        codec, payload = encode_block(data)
        items.append((hashlib.sha256(data).digest(), bytes((codec,)) + payload))
    store.put_many(items)
    [(pack, _)] = store.packs()
    past = time.time() - age
    os.utime(pack, (past, past))
    return [digest for digest, _ in items]


def test_a_pack_is_rewritten_with_only_its_live_blocks(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path, fsync=False)
    blobs = [os.urandom(3000) for _ in range(4)]
    digests = _packed(store, blobs, age=7200)
    other = LocalBlockStore(tmp_path, fsync=False)  # a server process indexed it before
    [(pack, _)] = store.packs()
    freed = store.repack(pack, {digests[0], digests[1]}, idle_before=time.time() - 3600)
    assert freed > 5000
    assert [store.get(d)[1:] for d in digests[:2]] == blobs[:2]
    assert [other.get(d)[1:] for d in digests[:2]] == blobs[:2]  # finds the new pack
    for gone in digests[2:]:
        with pytest.raises(BlockMissing):
            other.get(gone)
    assert store.remove_stale_temps(older_than=time.time() + 1) == 0  # nothing left aside


def test_a_pack_whose_block_is_stored_again_is_kept(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path, fsync=False)
    blobs = [os.urandom(3000) for _ in range(3)]
    digests = _packed(store, blobs, age=7200)
    codec, payload = encode_block(blobs[2])
    store.put(digests[2], bytes((codec,)) + payload)  # re-uploaded: the pack is refreshed
    [(pack, _)] = store.packs()
    assert store.repack(pack, set(), idle_before=time.time() - 3600) == 0
    assert [store.get(d)[1:] for d in digests] == blobs


def test_a_block_stored_again_after_its_pack_went_is_written_anew(tmp_path: Path) -> None:
    server = LocalBlockStore(tmp_path, fsync=False)
    blobs = [os.urandom(3000) for _ in range(2)]
    digests = _packed(server, blobs, age=7200)
    collector = LocalBlockStore(tmp_path, fsync=False)
    [(pack, _)] = collector.packs()
    assert collector.repack(pack, set(), idle_before=time.time() - 3600) > 0
    codec, payload = encode_block(blobs[0])
    server.put(digests[0], bytes((codec,)) + payload)  # its index still names the old pack
    assert server.get(digests[0])[1:] == blobs[0]


async def test_purged_small_files_leave_their_packs_and_the_rest_still_syncs(
    live: LiveServer, tmp_path: Path
) -> None:
    """Small files travel and are stored together in packs; once most of them are deleted and
    purged, collection rewrites the packs, and what is left still reaches a new device."""
    laptop = await device(live, tmp_path, "alice", "laptop", register=True)
    phone = await device(live, tmp_path, "alice", "phone")
    try:
        for i in range(40):
            laptop.write(f"notes/n{i}.bin", os.urandom(3000))
        await laptop.sync()
        server = live.server._services
        assert server is not None and isinstance(server.blocks, LocalBlockStore)
        assert server.blocks.packs(), "small files were not stored together"
        assert await live.metric("roost_block_index_entries") == 40
        for i in range(30):
            (laptop.root / f"notes/n{i}.bin").unlink()
        await laptop.sync()
        files = RemoteFiles(laptop.client)
        for i in range(30):
            await files.purge(f"notes/n{i}.bin")
        done = await space.collect_garbage(
            server.db, server.blocks, grace_seconds=0, now=time.time() + 1
        )
        assert done.blocks == 30 and done.bytes > 30 * 3000
        assert await live.metric("roost_block_index_entries") == 10  # the index shrinks too
        await phone.sync()
        assert phone.listing() == laptop.listing()
        assert all(phone.read(f"notes/n{i}.bin") == laptop.read(f"notes/n{i}.bin")
                   for i in range(30, 40))  # fmt: skip
    finally:
        await laptop.client.close()
        await phone.client.close()
