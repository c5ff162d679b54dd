"""Garbage collection of blocks in S3 while other processes upload, on a real bucket and both
database engines: an upload claims its blocks before it looks for their bytes, a collection
deletes bytes only while it holds their rows, so the two take turns (storage/content/
s3_blocks.py). Each race is played in both orders by hand: two stores on one bucket stand for
two server processes, and the collection is paused inside its transaction."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence

import pytest

from storage.content.blocks import BadBlock, BlockMissing, BlockWriter, encode_block
from storage.content.s3_blocks import S3BlockStore
from storage.content.s3_location import parse_s3_url
from storage.content.stores import block_claims
from storage.database import Database, now_ms
from storage.server import space

SECOND_OF_S3 = 1.1  # LastModified has whole seconds: wait this long for bytes to look old


def stored_of(data: bytes) -> tuple[bytes, bytes, int]:
    codec, payload = encode_block(data)
    return hashlib.sha256(data).digest(), bytes((codec,)) + payload, len(data)


class PausingStore(S3BlockStore):
    """The collection's store: stops inside its transaction, at its first deletion of bytes,
    until the test lets it go on."""

    def __init__(self, url: str) -> None:
        super().__init__(parse_s3_url(url))
        self.inside = threading.Event()
        self.go_on = threading.Event()

    def _pause(self) -> None:
        self.inside.set()
        assert self.go_on.wait(30)

    def delete_many(self, digests: Sequence[bytes]) -> None:
        if digests:
            self._pause()
        super().delete_many(digests)

    def repack(self, name: str, keep: set[bytes]) -> int:
        self._pause()
        return super().repack(name, keep)


@pytest.fixture
def stores(s3_bucket: str) -> Callable[[], S3BlockStore]:
    def make() -> S3BlockStore:
        store = S3BlockStore(parse_s3_url(s3_bucket))
        store.check()
        return store

    return make


async def upload(db: Database, store: S3BlockStore, blocks: list[tuple[bytes, bytes, int]]) -> None:
    """What the server does with verified blocks in S3: claim, then store (server/files/
    transfer.py)."""
    await space.claim_blocks(db, [(d, n, len(s)) for d, s, n in blocks], now_ms())
    await asyncio.to_thread(store.put_many, [(d, s) for d, s, _ in blocks])


async def rows(db: Database) -> set[bytes]:
    async with db.reader.execute("SELECT hash FROM blocks", ()) as cur:
        return {bytes.fromhex(str(r[0])) for r in await cur.fetchall()}


async def test_a_block_claimed_before_the_collection_is_kept(
    server_db: Database, stores: Callable[[], S3BlockStore]
) -> None:
    first, second = stores(), stores()
    block = stored_of(os.urandom(300 << 10))  # large: an object of its own
    digest, stored, size = block
    await space.claim_blocks(server_db, [(digest, size, len(stored))], now_ms() - 3_600_000)
    await asyncio.to_thread(first.put, digest, stored)  # an hour-old upload nobody committed
    await asyncio.sleep(SECOND_OF_S3)
    # Another process uploads the same block: it claims, finds the bytes, skips its PUT.
    await upload(server_db, second, [block])
    found = await space.collect_garbage(server_db, stores(), grace_seconds=0.5)
    assert found.blocks == 0
    assert second.get(digest) == stored
    assert digest in await rows(server_db)


async def test_a_claim_waits_for_a_collection_holding_the_row_then_stores_anew(
    server_db: Database, s3_bucket: str, stores: Callable[[], S3BlockStore]
) -> None:
    first, second = stores(), stores()
    block = stored_of(os.urandom(300 << 10))
    digest, stored, size = block
    await space.claim_blocks(server_db, [(digest, size, len(stored))], now_ms() - 3_600_000)
    await asyncio.to_thread(first.put, digest, stored)
    await asyncio.sleep(SECOND_OF_S3)
    collector = PausingStore(s3_bucket)
    collecting = asyncio.create_task(space.collect_garbage(server_db, collector, grace_seconds=0.5))
    await asyncio.to_thread(collector.inside.wait, 30)  # it holds the row, bytes still there
    assert second.has(digest)
    uploading = asyncio.create_task(upload(server_db, second, [block]))
    await asyncio.sleep(0.5)
    assert not uploading.done()  # the claim waits for the collection's transaction
    collector.go_on.set()
    found = await collecting
    await uploading
    assert found.blocks == 1  # the old bytes went ...
    assert second.get(digest) == stored  # ... and the upload stored them again after
    assert first.get(digest) == stored
    assert digest in await rows(server_db)


async def test_a_pack_keeps_a_block_claimed_before_its_rewrite(
    server_db: Database, stores: Callable[[], S3BlockStore]
) -> None:
    first, second = stores(), stores()
    kept, dropped = stored_of(b"kept" * 300), stored_of(b"dropped" * 300)
    await asyncio.to_thread(first.put_many, [kept[:2], dropped[:2]])  # one pack, no rows
    await asyncio.sleep(SECOND_OF_S3)
    await upload(server_db, second, [kept])  # finds it packed: no PUT
    assert [d for d, _, _ in second.digests()] == []
    found = await space.collect_garbage(server_db, stores(), grace_seconds=0.5)
    assert found.blocks == 1  # the pack was rewritten without `dropped`
    assert first.get(kept[0]) == kept[1]  # first's index named the old pack: it looks again
    with pytest.raises(BlockMissing):
        stores().get(dropped[0])


async def test_a_claim_waits_for_a_pack_rewrite_then_stores_anew(
    server_db: Database, s3_bucket: str, stores: Callable[[], S3BlockStore]
) -> None:
    first, second = stores(), stores()
    late, other = stored_of(b"late" * 300), stored_of(b"other" * 300)
    await asyncio.to_thread(first.put_many, [late[:2], other[:2]])
    await asyncio.sleep(SECOND_OF_S3)
    assert second.has(late[0])  # second's index knows the pack
    collector = PausingStore(s3_bucket)
    collecting = asyncio.create_task(space.collect_garbage(server_db, collector, grace_seconds=0.5))
    await asyncio.to_thread(collector.inside.wait, 30)  # placeholders held, pack not gone yet
    uploading = asyncio.create_task(upload(server_db, second, [late]))
    await asyncio.sleep(0.5)
    assert not uploading.done()
    collector.go_on.set()
    found = await collecting
    await uploading
    assert found.blocks == 2  # the whole pack was garbage when the collection looked
    assert stores().get(late[0]) == late[1]  # written anew by the upload, in a pack of its own
    with pytest.raises(BlockMissing):
        stores().get(other[0])


async def test_bytes_no_row_names_go_once_past_the_grace_period(
    server_db: Database, stores: Callable[[], S3BlockStore]
) -> None:
    store = stores()
    orphan = stored_of(os.urandom(300 << 10))  # stored, then the process died before its row
    await asyncio.to_thread(store.put, orphan[0], orphan[1])
    found = await space.collect_garbage(server_db, store, grace_seconds=3600)
    assert found.blocks == 0  # young: an upload may be about to record it
    await asyncio.sleep(SECOND_OF_S3)
    found = await space.collect_garbage(server_db, store, grace_seconds=0.5, now=time.time())
    assert found.blocks == 1 and found.bytes == len(orphan[1])
    with pytest.raises(BlockMissing):
        store.get(orphan[0])
    assert await rows(server_db) == set()


async def test_the_block_writer_claims_before_it_stores_in_s3(
    server_db: Database, stores: Callable[[], S3BlockStore]
) -> None:
    """Single small uploads (RPUT) are batched by BlockWriter: on S3 each batch is claimed,
    committed, and only then stored; a bad block is refused and claims nothing."""
    store = stores()
    writer = BlockWriter(store, claim=block_claims(store, server_db))
    good = [stored_of(os.urandom(1000 + i)) for i in range(5)]
    bad_digest = hashlib.sha256(b"claimed").digest()
    results = await asyncio.gather(
        *(writer.put(d, s) for d, s, _ in good),
        writer.put(bad_digest, good[0][1]),
        return_exceptions=True,
    )
    assert results[:5] == [n for _, _, n in good]
    assert isinstance(results[5], BadBlock)
    assert await rows(server_db) == {d for d, _, _ in good}
    assert [stores().get(d) for d, _, _ in good] == [s for _, s, _ in good]
