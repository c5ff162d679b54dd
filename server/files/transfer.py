"""The binary path: block uploads (RPUT, RPTS) and downloads (RGET, RGTS) as binary frames.

An upload is verified (decompressed, SHA-256 checked) off the event loop before it is stored;
a download is served only if the block is readable by the caller (see
`FileRepository.readable_blocks`): knowing a hash grants nothing.
"""

from __future__ import annotations

import asyncio
import logging

from protocol import files as wire
from protocol.envelope import encode_error, encode_ok
from protocol.errors import ErrorCode, RoostError
from server import database_outage
from server.context import Services
from server.files.handlers import check_upload_room
from server.session import Session
from storage.content.blocks import BadBlock, BlockMissing, verify_block
from storage.content.s3_blocks import S3Unreachable
from storage.database import now_ms
from storage.errors import Unavailable
from storage.server.space import claim_blocks

log = logging.getLogger("roost.server")
BATCHED_BLOCK_BYTES = 256 << 10  # uploads this small are stored in batches (BlockWriter)
BUCKET_AWAY = "the server's block storage is unavailable; try again shortly"


def reply_reservation(frame: bytes, blocks: object = None) -> int:
    """The most bytes the reply to this binary frame may take: the block's stored size for an
    RGET when the block store knows it at once (else a whole block), a whole batch for RGTS
    (held against the connection's reply budget while the reply is made), a short JSON
    answer for anything else. Reserving 4 MiB for every RGET let a device fetch only two
    blocks at a time within the 8 MiB budget, where most blocks are ~1 MiB."""
    magic = frame[:4]
    if magic == wire.GET:
        size_of = getattr(blocks, "stored_size", None)
        size = size_of(frame[12 : wire.HEADER_BYTES]) if size_of is not None else None
        return wire.MAX_BLOCK_BYTES if size is None else size + wire.HEADER_BYTES
    if magic == wire.GET_BATCH:
        return wire.MAX_BATCH_BYTES
    return 0


async def answer_binary(services: Services, session: Session, frame: bytes) -> bytes:
    """Answer one binary frame; never raises."""
    request_id = wire.peek_frame_id(frame)
    try:
        if session.identity is None:
            raise RoostError(ErrorCode.UNAUTHENTICATED, "block transfer needs a logged-in device")
        if wire.is_batch(frame):
            batch = wire.decode_batch(frame)
            if batch.magic == wire.PUT_BATCH:
                return await _put_batch(services, session, batch)
            if batch.magic == wire.GET_BATCH:
                return await _get_batch(services, session, batch)
            raise RoostError(ErrorCode.MALFORMED, "clients may not send RBKS frames")
        parsed = wire.decode_block_frame(frame)
        if parsed.magic == wire.PUT:
            return await _put(services, session, parsed)
        if parsed.magic == wire.GET:
            return await _get(services, session, parsed)
        raise RoostError(ErrorCode.MALFORMED, "clients may send only RPUT and RGET frames")
    except RoostError as exc:
        return encode_error(request_id, exc)
    except Unavailable:  # the database is away: `unavailable`, as for JSON ops
        return encode_error(request_id, database_outage.refusal())
    except S3Unreachable as exc:  # --blocks s3://…: the bucket is away; nothing acked is lost
        log.warning("%s", exc)
        return encode_error(request_id, RoostError(ErrorCode.UNAVAILABLE, BUCKET_AWAY))
    except Exception:
        log.exception("block frame failed")
        return encode_error(request_id, RoostError(ErrorCode.INTERNAL, "internal server error"))


async def _put(services: Services, session: Session, f: wire.BlockFrame) -> bytes:
    assert f.codec is not None and session.identity is not None
    await check_upload_room(services, session, len(f.payload))
    # codec byte + payload, as sent; a view, not a copy (a large block is MiBs)
    stored = memoryview(f.payload.obj)[wire.HEADER_BYTES - 1 :]
    try:
        if len(stored) <= BATCHED_BLOCK_BYTES:  # many small ones: batched into one pack
            size = await services.block_writer.put(f.digest, stored)  # verified, durable
        elif _needs_claims(services):  # in S3: claimed between verifying and storing
            assert f.codec is not None
            size = await asyncio.to_thread(verify_block, f.digest, f.codec, f.payload)
            await claim_blocks(services.db, [(f.digest, size, len(stored))], now_ms())
            await asyncio.to_thread(services.blocks.put, f.digest, stored)
        else:  # large ones verify in parallel threads; an fsync each is cheap beside them
            size = await asyncio.to_thread(_verify_and_store, services, f, stored)
    except BadBlock as exc:
        raise RoostError(ErrorCode.INVALID_ARGS, f"block {f.hash[:12]} refused: {exc}") from None
    await services.files.record_upload(
        session.identity.user_id, f.hash, size, len(stored), now_ms()
    )
    return encode_ok(f.request_id, wire.Stored(f.hash, size))


def _verify_and_store(services: Services, f: wire.BlockFrame, stored: memoryview) -> int:
    assert f.codec is not None
    size = verify_block(f.digest, f.codec, f.payload)
    services.blocks.put(f.digest, stored)
    return size


async def _get(services: Services, session: Session, f: wire.BlockFrame) -> bytes:
    assert session.identity is not None
    if not await services.files.is_readable(session.identity.user_id, f.hash):
        # absent and unreadable look the same
        raise RoostError(ErrorCode.NOT_FOUND, f"no block {f.hash[:12]} you can read")
    try:
        stored = await asyncio.to_thread(services.blocks.get, f.digest)
    except BlockMissing:
        log.error("block %s is in the database but not in the block store", f.hash)
        raise RoostError(ErrorCode.NOT_FOUND, f"no block {f.hash[:12]} you can read") from None
    return wire.encode_block_frame(wire.BLOCK, f.request_id, f.digest) + stored


async def _put_batch(services: Services, session: Session, batch: wire.BatchFrame) -> bytes:
    """Verify every block of the batch, then store them all: one bad block refuses the whole
    batch before anything is written."""
    assert session.identity is not None
    await check_upload_room(services, session, sum(len(item.stored) for item in batch.items))
    try:
        if _needs_claims(services):  # in S3: claimed between verifying and storing
            sizes = await asyncio.to_thread(_verify_all, batch.items)
            claims = [(i.digest, n, len(i.stored)) for i, n in zip(batch.items, sizes, strict=True)]
            await claim_blocks(services.db, claims, now_ms())
            pairs = [(item.digest, item.stored) for item in batch.items]
            await asyncio.to_thread(services.blocks.put_many, pairs)
        else:
            sizes = await asyncio.to_thread(_verify_and_store_all, services, batch.items)
    except BadBlock as exc:
        raise RoostError(ErrorCode.INVALID_ARGS, f"batch refused, nothing stored: {exc}") from None
    user, now = session.identity.user_id, now_ms()
    await asyncio.gather(*(
        services.files.record_upload(user, item.hash, size, len(item.stored), now)
        for item, size in zip(batch.items, sizes, strict=True)
    ))  # fmt: skip
    stored = [wire.Stored(item.hash, size) for item, size in zip(batch.items, sizes, strict=True)]
    return encode_ok(batch.request_id, wire.StoredBatch(stored))


def _needs_claims(services: Services) -> bool:
    """Whether the block store wants a committed claim before storing (blocks in S3)."""
    return bool(getattr(services.blocks, "needs_claims", False))


def _verify_all(items: list[wire.BatchItem]) -> list[int]:
    sizes: list[int] = []
    for item in items:
        try:
            sizes.append(verify_block(item.digest, item.codec, item.payload))
        except BadBlock as exc:
            raise BadBlock(f"block {item.hash[:12]}: {exc}") from None
    return sizes


def _verify_and_store_all(services: Services, items: list[wire.BatchItem]) -> list[int]:
    sizes = _verify_all(items)
    services.blocks.put_many([(item.digest, item.stored) for item in items])  # views, as `_put`
    return sizes


async def _get_batch(services: Services, session: Session, batch: wire.BatchFrame) -> bytes:
    """Every block asked for, or not_found naming the first one the caller cannot read: a
    batch never serves a block that a single RGET would refuse."""
    assert session.identity is not None
    hashes = [item.hash for item in batch.items]
    readable = await services.files.readable_blocks(
        session.identity.user_id, hashes, services.db.reader
    )
    for h in hashes:
        if h not in readable:  # absent and unreadable look the same
            raise RoostError(ErrorCode.NOT_FOUND, f"no block {h[:12]} you can read")
    try:
        stored = await asyncio.to_thread(_read_all, services, [i.digest for i in batch.items])
    except BlockMissing as exc:
        log.error("a readable block is not in the block store: %s", exc)
        raise RoostError(ErrorCode.NOT_FOUND, "a block of the batch is missing") from None
    pairs = list(zip((i.digest for i in batch.items), stored, strict=True))
    return wire.encode_batch(wire.BLOCK_BATCH, batch.request_id, pairs)


def _read_all(services: Services, digests: list[bytes]) -> list[bytes]:
    """The stored bytes of each block, as long as they fit one reply frame."""
    # In S3, packed blocks whose sizes the index knows come side by side (a GET each would
    # cost a round trip); anything else one by one, stopping at the reply's limit.
    packed = getattr(services.blocks, "packed_bytes", lambda _: None)(digests)
    if packed is not None and packed <= wire.MAX_BATCH_BYTES:
        return list(services.blocks.get_many(digests))  # type: ignore[attr-defined]
    out = []
    total = 0
    for digest in digests:
        out.append(services.blocks.get(digest))
        total += len(out[-1])
        if total > wire.MAX_BATCH_BYTES:
            raise RoostError(
                ErrorCode.TOO_LARGE,
                f"these blocks are over {wire.MAX_BATCH_BYTES >> 20} MiB; ask for fewer at once",
            )
    return out
