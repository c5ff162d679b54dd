"""Block bytes: the `BlockStore` interface, a local-folder implementation, and the block codec
(zstd when it helps, raw when it does not) shared by the wire and the disk.

A stored block is one codec byte followed by the payload, exactly as it travelled, so the
server never recompresses: it verifies (decompress + SHA-256) and writes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Protocol

import zstandard

from protocol.files import MAX_BLOCK_BYTES, Codec
from storage.errors import StorageError

ZSTD_LEVEL = 1  # ~1 GB/s on this hardware; level 3 saves little on mixed data


class BadBlock(StorageError):
    """A block whose bytes do not decode, or do not hash to the digest they claim."""


def encode_block(raw: bytes | memoryview) -> tuple[Codec, bytes]:
    """Compress a block for the wire and the disk, keeping it raw when zstd does not help."""
    packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)
    if len(packed) < len(raw) - len(raw) // 64:
        return Codec.ZSTD, packed
    return Codec.RAW, bytes(raw)


def decode_block(codec: Codec, payload: bytes | memoryview) -> bytes:
    if codec == Codec.RAW:
        if len(payload) > MAX_BLOCK_BYTES:
            raise BadBlock("block larger than 4 MiB")
        return bytes(payload)
    try:
        out = zstandard.ZstdDecompressor().decompress(payload, max_output_size=MAX_BLOCK_BYTES)
    except zstandard.ZstdError as exc:
        raise BadBlock(f"block does not decompress: {exc}") from None
    if len(out) > MAX_BLOCK_BYTES:
        raise BadBlock("block larger than 4 MiB")
    return out


def verify_block(digest: bytes, codec: Codec, payload: bytes | memoryview) -> int:
    """The block's raw size if its bytes hash to `digest`; BadBlock otherwise."""
    raw = decode_block(codec, payload)
    if hashlib.sha256(raw).digest() != digest:
        raise BadBlock("block bytes do not match their SHA-256")
    return len(raw)


class BlockStore(Protocol):
    """Where block bytes live; content-addressed, shared by every user."""

    def has(self, digest: bytes) -> bool: ...

    def put(self, digest: bytes, stored: bytes) -> None:
        """Store codec byte + payload; atomic (a reader sees all of it or nothing)."""

    def get(self, digest: bytes) -> bytes:
        """Codec byte + payload; BlockMissing if absent."""

    def delete(self, digest: bytes) -> None: ...


class BlockMissing(StorageError):
    pass


class LocalBlockStore:
    """Blocks as files under DATA/blocks/ab/cdef…, written to a temp file and renamed."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self._fsync = fsync
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: bytes) -> Path:
        name = digest.hex()
        return self.root / name[:2] / name[2:]

    def has(self, digest: bytes) -> bool:
        return self._path(digest).exists()

    def put(self, digest: bytes, stored: bytes) -> None:
        path = self._path(digest)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(stored)
                if self._fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot store block {digest.hex()[:12]}: {exc}") from exc

    def get(self, digest: bytes) -> bytes:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise BlockMissing(f"block {digest.hex()[:12]} is not stored") from None

    def delete(self, digest: bytes) -> None:
        self._path(digest).unlink(missing_ok=True)
