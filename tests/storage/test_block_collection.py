"""Collecting a block races with uploads of the same bytes: an upload that re-stores a block
while it is being collected keeps it."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from storage.blocks import LocalBlockStore, encode_block


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
    assert store.collect(digest, idle_before=time.time()) == 0  # already gone


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
