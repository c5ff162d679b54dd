"""Block bytes: the `BlockStore` interface, a local-folder implementation, and the block codec
(zstd when it helps, raw when it does not) shared by the wire and the disk.

A stored block is one codec byte followed by the payload, exactly as it travelled, so the
server never recompresses: it verifies (decompress + SHA-256) and writes.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import os
import secrets
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

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


def _no_syncfs(fd: int) -> None:
    os.fsync(fd)


_syncfs_fd: Callable[[int], None] = _no_syncfs


def _load_syncfs() -> Callable[[Path], None] | None:
    """Linux's syncfs(2): flush every dirty page and inode of one filesystem, and wait."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syncfs
    except (OSError, AttributeError):
        return None

    def syncfs(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            syncfs_fd(fd)
        finally:
            os.close(fd)

    def syncfs_fd(fd: int) -> None:
        if call(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    global _syncfs_fd
    _syncfs_fd = syncfs_fd
    return syncfs


_syncfs = _load_syncfs()


def make_durable(files: Sequence[BinaryIO]) -> None:
    """fsync every one of these open, flushed files: with syncfs, one call per filesystem
    they are on (about the cost of one fsync); otherwise one fsync each."""
    if _syncfs is None or len(files) == 1:
        for f in files:
            os.fsync(f.fileno())
        return
    seen: set[int] = set()
    for f in files:
        dev = os.fstat(f.fileno()).st_dev
        if dev not in seen:
            seen.add(dev)
            _syncfs_fd(f.fileno())


class BlockStore(Protocol):
    """Where block bytes live; content-addressed, shared by every user."""

    def has(self, digest: bytes) -> bool: ...

    def put(self, digest: bytes, stored: bytes) -> None:
        """Store codec byte + payload; atomic (a reader sees all of it or nothing)."""

    def put_many(self, blocks: Sequence[tuple[bytes, bytes]]) -> None:
        """`put` for many (digest, stored) pairs; durable together when it returns."""

    def get(self, digest: bytes) -> bytes:
        """Codec byte + payload; BlockMissing if absent."""

    def delete(self, digest: bytes) -> None: ...


class BlockMissing(StorageError):
    pass


_PACK_MAGIC = b"RPK1"
_PACK_HEAD = struct.Struct(">4sI")  # magic, block count
_PACK_ENTRY = struct.Struct(">32sQI")  # digest, offset in the pack, stored length


class LocalBlockStore:
    """Blocks as files under DATA/blocks/ab/cdef…, written to a temp file and renamed.

    Blocks stored together by `put_many` (many small ones: creating a file costs about a
    millisecond of kernel time here, more than sending the block) go into one pack file
    instead, DATA/blocks/packs/NAME.pack: a header listing each block's digest, offset and
    length, then the blocks. A pack is written whole to a temp file, made durable, then
    renamed: it is immutable once visible, so a reader (or a backup) sees all of it or none.
    The index of packed blocks lives in memory, rebuilt from the pack headers at start and
    refreshed when a block is not found (another process may have written a pack)."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self._fsync = fsync
        root.mkdir(parents=True, exist_ok=True)
        self._packs = root / "packs"
        self._packed: dict[bytes, tuple[Path, int, int]] = {}
        self._packs_seen: set[str] = set()
        self._lock = threading.Lock()
        self._load_packs()

    def _path(self, digest: bytes) -> Path:
        name = digest.hex()
        return self.root / name[:2] / name[2:]

    def _load_packs(self) -> None:
        if not self._packs.is_dir():
            return
        for pack in self._packs.glob("*.pack"):
            if pack.name in self._packs_seen:
                continue
            try:
                with open(pack, "rb") as f:
                    magic, count = _PACK_HEAD.unpack(f.read(_PACK_HEAD.size))
                    table = f.read(count * _PACK_ENTRY.size)
            except (OSError, struct.error) as exc:
                raise StorageError(f"cannot read block pack {pack.name}: {exc}") from exc
            if magic != _PACK_MAGIC or len(table) != count * _PACK_ENTRY.size:
                raise StorageError(f"block pack {pack.name} is damaged")
            with self._lock:
                for digest, offset, length in _PACK_ENTRY.iter_unpack(table):
                    self._packed.setdefault(digest, (pack, offset, length))
                self._packs_seen.add(pack.name)

    def has(self, digest: bytes) -> bool:
        return digest in self._packed or self._path(digest).exists()

    def put(self, digest: bytes, stored: bytes) -> None:
        path = self._path(digest)
        if self.has(digest):
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

    def put_many(self, blocks: Sequence[tuple[bytes, bytes]]) -> None:
        """Store the new blocks among these as one pack: written to a temp file, fsynced,
        renamed into place, the folder fsynced; durable together when this returns."""
        new: dict[bytes, bytes] = {}
        for digest, stored in blocks:
            if digest not in new and not self.has(digest):
                new[digest] = stored
        if len(new) <= 1:
            for digest, stored in new.items():
                self.put(digest, stored)
            return
        self._packs.mkdir(exist_ok=True)
        name = f"{time.time_ns():x}-{secrets.token_hex(4)}.pack"
        tmp = self._packs / f".{name}.tmp"
        offset = _PACK_HEAD.size + len(new) * _PACK_ENTRY.size
        table: list[tuple[bytes, int, int]] = []
        for digest, stored in new.items():
            table.append((digest, offset, len(stored)))
            offset += len(stored)
        try:
            with open(tmp, "wb") as f:
                f.write(_PACK_HEAD.pack(_PACK_MAGIC, len(new)))
                f.write(b"".join(_PACK_ENTRY.pack(*entry) for entry in table))
                f.writelines(new.values())
                if self._fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, self._packs / name)
            if self._fsync:
                _fsync_dir(self._packs)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot store {len(new)} blocks: {exc}") from exc
        with self._lock:
            for digest, at, length in table:
                self._packed.setdefault(digest, (self._packs / name, at, length))
            self._packs_seen.add(name)

    def get(self, digest: bytes) -> bytes:
        where = self._packed.get(digest)
        if where is None:
            try:
                return self._path(digest).read_bytes()
            except FileNotFoundError:
                pass
            self._load_packs()  # another process may have packed it since
            where = self._packed.get(digest)
            if where is None:
                raise BlockMissing(f"block {digest.hex()[:12]} is not stored") from None
        pack, offset, length = where
        with open(pack, "rb") as f:
            f.seek(offset)
            data = f.read(length)
        if len(data) != length:
            raise StorageError(f"block pack {pack.name} is cut short")
        return data

    def delete(self, digest: bytes) -> None:
        """Forget a block. A packed block's bytes stay in its pack until packs are compacted
        (not done yet); it is gone from this process's index."""
        with self._lock:
            self._packed.pop(digest, None)
        self._path(digest).unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlockWriter:
    """Verifies and stores uploaded blocks in batches: blocks that arrive while a batch is
    being written wait for the next one, which is verified, written and made durable in
    one thread hop (`put_many`). `put` returns once its block is durable, or raises."""

    def __init__(self, store: BlockStore, *, max_batch: int = 128) -> None:
        self._store = store
        self._max_batch = max_batch
        self._pending: list[tuple[bytes, bytes, asyncio.Future[int]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def put(self, digest: bytes, stored: bytes) -> int:
        """Store codec byte + payload; the block's raw size once durable, BadBlock if it does
        not verify."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((digest, stored, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                results = await asyncio.to_thread(self._write, batch)
            except Exception as exc:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (*_, done), result in zip(batch, results, strict=True):
                if done.done():
                    continue
                if isinstance(result, BaseException):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    def _write(self, batch: list[tuple[bytes, bytes, asyncio.Future[int]]]) -> list[int | BadBlock]:
        results: list[int | BadBlock] = []
        good: list[tuple[bytes, bytes]] = []
        for digest, stored, _ in batch:
            try:
                codec = Codec(stored[0]) if stored else None
                if codec is None:
                    raise BadBlock("no codec byte")
                results.append(verify_block(digest, codec, memoryview(stored)[1:]))
            except (BadBlock, ValueError) as exc:
                results.append(exc if isinstance(exc, BadBlock) else BadBlock(f"bad codec: {exc}"))
                continue
            good.append((digest, stored))
        if good:
            self._store.put_many(good)
        return results
