"""Batch block frames (RPTS up, RGTS/RBKS down) through the real server: readability stays
exact per block, a bad block refuses the whole batch, oversize batches are refused."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from client.errors import ServerError
from client.sync.transfer import Transfer, sources_of
from protocol import files as wire
from storage.content.blocks import encode_block
from tests.conftest import LiveServer
from tests.files.helpers import device


def stored_of(data: bytes) -> tuple[bytes, bytes]:
    codec, payload = encode_block(data)
    return hashlib.sha256(data).digest(), bytes((codec,)) + payload


def stored_files(live: LiveServer) -> list[Path]:
    return [p for p in (live.server.config.data_dir / "blocks").rglob("*") if p.is_file()]


async def test_small_blocks_travel_in_batches_both_ways(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        blobs = [os.urandom(3000 + i) for i in range(40)] + [b"text " * 900]
        paths = [alice.write(f"f{i}.bin", b) for i, b in enumerate(blobs)]
        sources = {}
        for path, blob in zip(paths, blobs, strict=True):
            sources.update(sources_of(path, [(hashlib.sha256(blob).hexdigest(), len(blob))]))
        conn = await alice.client.connect()
        up = Transfer(conn)
        assert await up.upload(None, sources) == set()
        assert up.counters.blocks_sent == len(blobs)
        assert await up.missing(None, list(sources)) == []

        down = Transfer(conn)
        got = await asyncio.gather(
            *(down.fetch_small(hashlib.sha256(b).hexdigest(), len(b)) for b in blobs)
        )
        assert got == blobs
        assert down.counters.blocks_fetched == len(blobs)
    finally:
        await alice.client.close()


async def test_a_batch_never_serves_a_block_the_caller_cannot_read(
    live: LiveServer, tmp_path: Path
) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    mallory = await device(live, tmp_path, "mallory", "m1", register=True)
    try:
        secret = os.urandom(5000)
        alice.write("secret.bin", secret)
        await alice.sync()
        own = os.urandom(5000)
        conn = await mallory.client.connect()
        thief = Transfer(conn)
        await thief.put_block(hashlib.sha256(own).hexdigest(), own)
        digests = [hashlib.sha256(own).digest(), hashlib.sha256(secret).digest()]
        with pytest.raises(ServerError) as refused:
            await conn.call_binary(lambda rid: wire.encode_get_batch(rid, digests))
        assert refused.value.code == "not_found"
        assert hashlib.sha256(secret).hexdigest()[:12] in refused.value.message
        # Her own block alone comes back; so does alice's, to alice.
        [mine] = await asyncio.gather(thief.fetch_small(digests[0].hex(), len(own)))
        assert mine == own
        theirs = await Transfer(await alice.client.connect()).fetch_small(digests[1].hex(), 5000)
        assert theirs == secret
    finally:
        await alice.client.close()
        await mallory.client.close()


async def test_one_damaged_block_refuses_the_whole_batch(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        conn = await alice.client.connect()
        good = [stored_of(os.urandom(2000)) for _ in range(3)]
        digest, stored = stored_of(b"compressible " * 500)
        damaged = bytearray(stored)
        damaged[len(damaged) // 2] ^= 0xFF
        pairs = [good[0], good[1], (digest, bytes(damaged)), good[2]]
        with pytest.raises(ServerError) as refused:
            await conn.call_binary(lambda rid: wire.encode_batch(wire.PUT_BATCH, rid, pairs))
        assert refused.value.code == "invalid_args"
        assert digest.hex()[:12] in refused.value.message
        hashes = [d.hex() for d, _ in pairs]
        assert await Transfer(conn).missing(None, hashes) == hashes  # nothing half-stored
        assert stored_files(live) == []
        # The same batch without the damage is stored whole.
        pairs[2] = (digest, stored)
        await conn.call_binary(lambda rid: wire.encode_batch(wire.PUT_BATCH, rid, pairs))
        assert await Transfer(conn).missing(None, hashes) == []
    finally:
        await alice.client.close()


async def test_oversize_batches_are_refused(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        conn = await alice.client.connect()
        many = [bytes([i % 256, i // 256]) * 16 for i in range(wire.MAX_BATCH_BLOCKS + 1)]
        with pytest.raises(ServerError) as refused:
            await conn.call_binary(
                lambda rid: wire.encode_get_batch(rid, [hashlib.sha256(b).digest() for b in many])
            )
        assert refused.value.code == "too_large"
        raws = [os.urandom(wire.MAX_BATCH_BYTES // 2) for _ in range(2)]
        big = [stored_of(raw) for raw in raws]  # random: stored raw, 1 byte over half each
        with pytest.raises(ServerError) as refused:
            await conn.call_binary(lambda rid: wire.encode_batch(wire.PUT_BATCH, rid, big))
        assert refused.value.code == "too_large"
        assert stored_files(live) == []
        # Stored one by one, they are fine; asked for together, the reply would not fit.
        t = Transfer(conn)
        for raw in raws:
            await t.put_block(hashlib.sha256(raw).hexdigest(), raw)
        with pytest.raises(ServerError) as refused:
            await conn.call_binary(lambda rid: wire.encode_get_batch(rid, [d for d, _ in big]))
        assert refused.value.code == "too_large"
        await alice.client.call("auth.whoami")  # the connection carries on
    finally:
        await alice.client.close()


async def test_blocks_of_a_file_changed_after_hashing_are_not_sent(
    live: LiveServer, tmp_path: Path
) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        big, small = os.urandom(600_000), os.urandom(5000)
        big_path, small_path = alice.write("big.bin", big), alice.write("small.bin", small)
        hb, hs = hashlib.sha256(big).hexdigest(), hashlib.sha256(small).hexdigest()
        sources = {**sources_of(big_path, [(hb, len(big))]), **sources_of(small_path, [(hs, 5000)])}
        alice.write("big.bin", os.urandom(600_000))  # edited after the scan hashed it
        alice.write("small.bin", os.urandom(5000))
        transfer = Transfer(await alice.client.connect())
        assert await transfer.upload(None, sources) == {hb, hs}  # left for the next pass
        assert transfer.counters.blocks_sent == 0
        assert stored_files(live) == []
    finally:
        await alice.client.close()
