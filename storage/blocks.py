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
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
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


def sync_dirs(folders: Iterable[Path]) -> None:
    """Make renames and new entries in these folders durable: a rename is only as durable as
    its folder, so without this a machine crash can lose a file whose write was acked. One
    syncfs per filesystem where available, else an fsync of each folder."""
    unique = list(dict.fromkeys(folders))
    if _syncfs is not None and len(unique) > 1:
        seen: set[int] = set()
        for folder in unique:
            dev = folder.stat().st_dev
            if dev not in seen:
                seen.add(dev)
                _syncfs(folder)
        return
    for folder in unique:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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

    def collect(self, digest: bytes, idle_before: float) -> int:
        """Delete a block no longer referenced, unless it was stored or re-stored at or after
        `idle_before` (epoch seconds): an upload racing the collection keeps it. The bytes
        freed, 0 if kept or absent."""


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

    def sweep_temp_files(self) -> int:
        """Delete the temp files of writes a crash cut short (never renamed into place, so
        nothing refers to them); returns how many. Call before serving: a live write's temp
        file would go too."""
        removed = 0
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def put(self, digest: bytes, stored: bytes) -> None:
        path = self._path(digest)
        if _refresh(path):
            return
        new_folder = not path.parent.exists()
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(stored)
                if self._fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, path)
            if self._fsync:
                sync_dirs([path.parent, self.root] if new_folder else [path.parent])
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot store block {digest.hex()[:12]}: {exc}") from exc

    def put_many(self, blocks: Sequence[tuple[bytes, bytes]]) -> None:
        """Write every new block to a temp file, make them all durable with one `syncfs`
        (an fsync per 4 KiB block costs ~1 ms on this disk; one syncfs for 64 costs ~8),
        rename them into place, and make the renames durable with a second `syncfs`.
        Without syncfs (not Linux), each temp file is fsynced as `put` does."""
        if _syncfs is None or not self._fsync or len(blocks) == 1:
            for digest, stored in blocks:
                self.put(digest, stored)
            return
        written: list[tuple[Path, Path]] = []
        try:
            for digest, stored in blocks:
                path = self._path(digest)
                if _refresh(path) or any(p == path for _, p in written):
                    continue
                path.parent.mkdir(exist_ok=True)
                tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
                written.append((tmp, path))
                with open(tmp, "wb") as f:
                    f.write(stored)
            _syncfs(self.root)
            for tmp, path in written:
                os.replace(tmp, path)
            _syncfs(self.root)
        except OSError as exc:
            for tmp, _ in written:
                tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot store {len(blocks)} blocks: {exc}") from exc

    def get(self, digest: bytes) -> bytes:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise BlockMissing(f"block {digest.hex()[:12]} is not stored") from None

    def delete(self, digest: bytes) -> None:
        self._path(digest).unlink(missing_ok=True)

    def collect(self, digest: bytes, idle_before: float) -> int:
        # Moved aside first, so an upload that refreshes it from now on finds it gone and
        # writes it again; one that refreshed it before the move shows in its mtime.
        path = self._path(digest)
        aside = path.with_name(f".{path.name}.{secrets.token_hex(4)}.gc")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return 0
        info = aside.stat()
        if info.st_mtime >= idle_before:
            try:
                os.link(aside, path)  # put back, unless a new upload already wrote it
            except FileExistsError:
                pass
            aside.unlink()
            return 0
        aside.unlink()
        return info.st_size

    def digests(self) -> Iterator[tuple[bytes, float]]:
        """Every stored block's digest and mtime (epoch seconds)."""
        for folder in self.root.iterdir():
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if entry.name.startswith("."):
                    continue
                try:
                    digest = bytes.fromhex(folder.name + entry.name)
                    mtime = entry.stat().st_mtime
                except (ValueError, FileNotFoundError):
                    continue
                if len(digest) == 32:
                    yield digest, mtime

    def remove_stale_temps(self, older_than: float) -> int:
        """Temp files left by a crash mid-write; the bytes freed."""
        freed = 0
        for tmp in self.root.glob("??/.*"):
            try:
                info = tmp.stat()
                if info.st_mtime < older_than:
                    tmp.unlink()
                    freed += info.st_size
            except FileNotFoundError:
                continue
        return freed


def _refresh(path: Path) -> bool:
    """Whether a block is already stored; if it is, its mtime becomes now, so a garbage
    collection running at this moment keeps it (see `LocalBlockStore.collect`)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


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
