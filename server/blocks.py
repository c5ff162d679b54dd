"""The binary path: block uploads (RPUT) and downloads (RGET) as binary WebSocket frames.

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
from server.context import Services
from server.session import Session
from storage.blocks import BadBlock, BlockMissing, verify_block
from storage.database import now_ms

log = logging.getLogger("roost.server")
BATCHED_BLOCK_BYTES = 256 << 10  # uploads this small are stored in batches (BlockWriter)


async def answer_binary(services: Services, session: Session, frame: bytes) -> bytes:
    """Answer one binary frame; never raises."""
    request_id = wire.peek_frame_id(frame)
    try:
        if session.identity is None:
            raise RoostError(ErrorCode.UNAUTHENTICATED, "block transfer needs a logged-in device")
        parsed = wire.decode_block_frame(frame)
        if parsed.magic == wire.PUT:
            return await _put(services, session, parsed)
        if parsed.magic == wire.GET:
            return await _get(services, session, parsed)
        raise RoostError(ErrorCode.MALFORMED, "clients may send only RPUT and RGET frames")
    except RoostError as exc:
        return encode_error(request_id, exc)
    except Exception:
        log.exception("block frame failed")
        return encode_error(request_id, RoostError(ErrorCode.INTERNAL, "internal server error"))


async def _put(services: Services, session: Session, f: wire.BlockFrame) -> bytes:
    assert f.codec is not None and session.identity is not None
    stored = bytes(f.payload.obj)[wire.HEADER_BYTES - 1 :]  # codec byte + payload, as sent
    try:
        if len(stored) <= BATCHED_BLOCK_BYTES:  # many small ones: batched, one syncfs
            size = await services.block_writer.put(f.digest, stored)  # verified, durable
        else:  # large ones verify in parallel threads; an fsync each is cheap beside them
            size = await asyncio.to_thread(_verify_and_store, services, f, stored)
    except BadBlock as exc:
        raise RoostError(ErrorCode.INVALID_ARGS, f"block {f.hash[:12]} refused: {exc}") from None
    await services.files.record_upload(
        session.identity.user_id, f.hash, size, len(stored), now_ms()
    )
    return encode_ok(f.request_id, wire.Stored(f.hash, size))


def _verify_and_store(services: Services, f: wire.BlockFrame, stored: bytes) -> int:
    assert f.codec is not None
    size = verify_block(f.digest, f.codec, f.payload)
    services.blocks.put(f.digest, stored)
    return size


async def _get(services: Services, session: Session, f: wire.BlockFrame) -> bytes:
    assert session.identity is not None
    readable = await services.files.readable_blocks(session.identity.user_id, [f.hash])
    if f.hash not in readable:  # absent and unreadable look the same
        raise RoostError(ErrorCode.NOT_FOUND, f"no block {f.hash[:12]} you can read")
    try:
        stored = await asyncio.to_thread(services.blocks.get, f.digest)
    except BlockMissing:
        log.error("block %s is in the database but not in the block store", f.hash)
        raise RoostError(ErrorCode.NOT_FOUND, f"no block {f.hash[:12]} you can read") from None
    return wire.encode_block_frame(wire.BLOCK, f.request_id, f.digest) + stored
