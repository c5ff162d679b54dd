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
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import zstandard

from protocol.files import MAX_BLOCK_BYTES, Codec
from storage.content.unbuffered import read_whole_file, write_new_file
from storage.errors import StorageError

DIRECT_OVER = 256 << 10  # loose blocks larger than this are written past the page cache
ZSTD_LEVEL = 1  # ~1 GB/s on this hardware; level 3 saves little on mixed data


class BadBlock(StorageError):
    """A block whose bytes do not decode, or do not hash to the digest they claim."""


PROBE_OVER = 256 << 10  # blocks this large are sampled before a whole zstd pass
PROBE_BYTES = 16 << 10  # each of three samples: the start, the middle and the end


def encode_block(raw: bytes | memoryview, *, compress: bool = True) -> tuple[Codec, bytes]:
    """Compress a block for the wire and the disk, keeping it raw when zstd does not help
    (or `compress` is False). A large block whose samples do not compress at all (media,
    archives, encrypted data) stays raw without a whole pass: that pass costs as much as
    hashing it."""
    if not compress:
        return Codec.RAW, bytes(raw)
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    if len(raw) > PROBE_OVER and not _saves(compressor, _samples(raw)):
        return Codec.RAW, bytes(raw)
    packed = compressor.compress(raw)
    if len(packed) < len(raw) - len(raw) // 64:
        return Codec.ZSTD, packed
    return Codec.RAW, bytes(raw)


def _samples(raw: bytes | memoryview) -> bytes:
    view, middle = memoryview(raw), (len(raw) - PROBE_BYTES) // 2
    return b"".join((view[:PROBE_BYTES], view[middle : middle + PROBE_BYTES], view[-PROBE_BYTES:]))


def _saves(compressor: zstandard.ZstdCompressor, sample: bytes) -> bool:
    """Whether zstd saves even 2% on these bytes."""
    return len(compressor.compress(sample)) < len(sample) - len(sample) // 50


def decode_block(codec: Codec, payload: bytes | memoryview) -> bytes | memoryview:
    """The raw bytes; a raw block comes back as it was given, not copied (it is MiBs)."""
    if codec == Codec.RAW:
        if len(payload) > MAX_BLOCK_BYTES:
            raise BadBlock("block larger than 4 MiB")
        return payload
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


class OpenFile(Protocol):
    def fileno(self) -> int: ...


# syncfs waits for every dirty page of the filesystem, other programs' too (a 1 GiB file
# another program just wrote costs ~1 s here): worth it only in place of many fsyncs.
SYNCFS_OVER = 8


def make_durable(files: Sequence[OpenFile]) -> None:
    """fsync every one of these open, flushed files: with many, one syncfs per filesystem
    they are on (about the cost of one fsync when little else is dirty); else one fsync each."""
    if _syncfs is None or len(files) <= SYNCFS_OVER:
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
    its folder, so without this a machine crash can lose a file whose write was acked. With
    many folders, one syncfs per filesystem where available; else an fsync of each folder."""
    unique = list(dict.fromkeys(folders))
    if _syncfs is not None and len(unique) > SYNCFS_OVER:
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

    def put(self, digest: bytes, stored: bytes | memoryview) -> None:
        """Store codec byte + payload; atomic (a reader sees all of it or nothing)."""

    def put_many(self, blocks: Sequence[tuple[bytes, bytes | memoryview]]) -> None:
        """`put` for many (digest, stored) pairs; durable together when it returns."""

    def get(self, digest: bytes) -> bytes:
        """Codec byte + payload; BlockMissing if absent."""

    def delete(self, digest: bytes) -> None: ...

    def collect(self, digest: bytes, idle_before: float) -> int | None:
        """Delete a block no longer referenced, unless it was stored or re-stored at or after
        `idle_before` (epoch seconds): an upload racing the collection keeps it. The bytes
        freed, 0 if kept, None if it is not stored on its own (absent, or in a pack)."""


class BlockMissing(StorageError):
    pass


# Commits a claim on (digest, raw size, stored size) blocks before a store that needs one
# (`needs_claims`: blocks in S3, see storage/server/space.claim_blocks) is asked to store them.
Claim = Callable[[list[tuple[bytes, int, int]]], Awaitable[None]]


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
    whenever a pack it names has gone (a collection in another process rewrote it).

    Storing a block that is already there refreshes the mtime of its file or pack: a garbage
    collection running at that moment sees it and keeps it (`collect`, `repack`)."""

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

    # ------------------------------------------------------------------ the pack index
    def _load_packs(self, *, again: bool = False) -> None:
        """Index packs not seen yet; with `again`, forget everything and index what is there
        now (a pack went away)."""
        if again:
            with self._lock:
                self._packed.clear()
                self._packs_seen.clear()
        if not self._packs.is_dir():
            return
        for pack in self._packs.glob("*.pack"):
            if pack.name in self._packs_seen:
                continue
            try:
                table = pack_table(pack)
            except FileNotFoundError:
                continue  # collected while we listed
            with self._lock:
                for digest, offset, length in table:
                    self._packed.setdefault(digest, (pack, offset, length))
                self._packs_seen.add(pack.name)

    def _refresh(self, digest: bytes) -> bool:
        """Whether the block is stored; if it is, its file or pack gets a new mtime."""
        if _touch(self._path(digest)):
            return True
        where = self._packed.get(digest)
        if where is None:
            return False
        if _touch(where[0]):
            return True
        self._load_packs(again=True)
        where = self._packed.get(digest)
        return where is not None and _touch(where[0])

    def indexed(self) -> int:
        """How many packed blocks the in-memory index holds."""
        return len(self._packed)

    def has(self, digest: bytes) -> bool:
        return digest in self._packed or self._path(digest).exists()

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

    # ------------------------------------------------------------------ writing
    def put(self, digest: bytes, stored: bytes | memoryview) -> None:
        if not self._refresh(digest):
            self._write_loose(digest, stored)

    def _write_loose(self, digest: bytes, stored: bytes | memoryview) -> int:
        path = self._path(digest)
        new_folder = not path.parent.exists()
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            if len(stored) > DIRECT_OVER:  # written once; read back past the cache too
                write_new_file(tmp, stored, fsync=self._fsync)
            else:
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
        return len(stored)

    def put_many(self, blocks: Sequence[tuple[bytes, bytes | memoryview]]) -> None:
        """Store the new blocks among these as one pack: written to a temp file, fsynced,
        renamed into place, the folder fsynced; durable together when this returns."""
        new: dict[bytes, bytes | memoryview] = {}
        for digest, stored in blocks:
            if digest not in new and not self._refresh(digest):
                new[digest] = stored
        if len(new) == 1:
            self._write_loose(*next(iter(new.items())))
        elif new:
            self._write_pack(new)

    def _write_pack(self, blocks: Mapping[bytes, bytes | memoryview]) -> Path:
        new_folder = not self._packs.exists()
        self._packs.mkdir(exist_ok=True)
        name = f"{time.time_ns():x}-{secrets.token_hex(4)}.pack"
        pack = self._packs / name
        tmp = self._packs / f".{name}.tmp"
        offset = _PACK_HEAD.size + len(blocks) * _PACK_ENTRY.size
        table: list[tuple[bytes, int, int]] = []
        for digest, stored in blocks.items():
            table.append((digest, offset, len(stored)))
            offset += len(stored)
        try:
            with open(tmp, "wb") as f:
                f.write(_PACK_HEAD.pack(_PACK_MAGIC, len(blocks)))
                f.write(b"".join(_PACK_ENTRY.pack(*entry) for entry in table))
                f.writelines(blocks.values())
                if self._fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, pack)
            if self._fsync:
                sync_dirs([self._packs, self.root] if new_folder else [self._packs])
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot store {len(blocks)} blocks: {exc}") from exc
        with self._lock:
            for digest, at, length in table:
                self._packed.setdefault(digest, (pack, at, length))
            self._packs_seen.add(name)
        return pack

    # ------------------------------------------------------------------ reading
    def stored_size(self, digest: bytes) -> int | None:
        """The stored bytes of a block, known without reading it (None: not known here)."""
        if (where := self._packed.get(digest)) is not None:
            return where[2]
        try:
            return self._path(digest).stat().st_size
        except OSError:
            return None

    def get(self, digest: bytes) -> bytes:
        for attempt in range(2):
            where = self._packed.get(digest)
            if where is None:
                try:
                    return read_whole_file(self._path(digest))
                except FileNotFoundError:
                    pass
                self._load_packs(again=attempt > 0)  # another process may have packed it
                where = self._packed.get(digest)
                if where is None:
                    continue
            pack, offset, length = where
            try:
                with open(pack, "rb") as f:
                    f.seek(offset)
                    data = f.read(length)
            except FileNotFoundError:
                self._load_packs(again=True)  # rewritten by a collection: look again
                continue
            if len(data) != length:
                raise StorageError(f"block pack {pack.name} is cut short")
            return data
        raise BlockMissing(f"block {digest.hex()[:12]} is not stored")

    # ------------------------------------------------------------------ collecting
    def delete(self, digest: bytes) -> None:
        """Forget a block. A packed block's bytes stay in its pack until `repack`; it is gone
        from this process's index."""
        with self._lock:
            self._packed.pop(digest, None)
        self._path(digest).unlink(missing_ok=True)

    def collect(self, digest: bytes, idle_before: float) -> int | None:
        """Delete a loose block file unless it was stored or re-stored at or after
        `idle_before`; the bytes freed, 0 if kept, None if there is no such file (a packed
        block goes with `repack`)."""
        return _remove_unless_refreshed(self._path(digest), idle_before)

    def digests(self) -> Iterator[tuple[bytes, float]]:
        """Every loose block file's digest and mtime (epoch seconds)."""
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

    def packs(self) -> list[tuple[Path, float]]:
        """Every pack and its mtime (epoch seconds)."""
        found = []
        for pack in self._packs.glob("*.pack") if self._packs.is_dir() else ():
            try:
                found.append((pack, pack.stat().st_mtime))
            except FileNotFoundError:
                continue
        return found

    def repack(self, pack: Path, keep: set[bytes], idle_before: float) -> int:
        """Rewrite `pack` with only the blocks in `keep` (none: just delete it), unless it was
        refreshed at or after `idle_before`; the bytes freed on disk. Survivors are written
        (and durable) before the old pack goes, so a reader always finds them somewhere."""
        try:
            size = pack.stat().st_size
            live = {d: self._read_at(pack, at, n) for d, at, n in pack_table(pack) if d in keep}
        except FileNotFoundError:
            return 0
        if len(live) > 1:
            survivors = self._write_pack(live).stat().st_size
        else:
            survivors = sum(self._write_loose(d, stored) for d, stored in live.items())
        removed = _remove_unless_refreshed(pack, idle_before)
        self._load_packs(again=True)
        return max(size - survivors, 0) if removed else 0

    @staticmethod
    def _read_at(pack: Path, offset: int, length: int) -> bytes:
        with open(pack, "rb") as f:
            f.seek(offset)
            return f.read(length)

    def remove_stale_temps(self, older_than: float) -> int:
        """Temp files left by a crash mid-write (blocks, packs, collections); bytes freed."""
        freed = 0
        for tmp in [*self.root.glob("??/.*"), *self._packs.glob(".*")]:
            try:
                info = tmp.stat()
                if info.st_mtime < older_than:
                    tmp.unlink()
                    freed += info.st_size
            except FileNotFoundError:
                continue
        return freed


def pack_table(pack: Path) -> list[tuple[bytes, int, int]]:
    """A pack's (digest, offset, length) entries, from its header."""
    try:
        with open(pack, "rb") as f:
            magic, count = _PACK_HEAD.unpack(f.read(_PACK_HEAD.size))
            table = f.read(count * _PACK_ENTRY.size)
    except FileNotFoundError:
        raise
    except (OSError, struct.error) as exc:
        raise StorageError(f"cannot read block pack {pack.name}: {exc}") from exc
    if magic != _PACK_MAGIC or len(table) != count * _PACK_ENTRY.size:
        raise StorageError(f"block pack {pack.name} is damaged")
    return list(_PACK_ENTRY.iter_unpack(table))


def _touch(path: Path) -> bool:
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def _remove_unless_refreshed(path: Path, idle_before: float) -> int | None:
    """Delete `path` unless its mtime is at or after `idle_before`: the bytes freed, 0 if it
    was kept, None if it was not there. Moved aside first, so a writer that refreshes it from
    now on finds it gone and writes anew; one that refreshed it before shows in its mtime."""
    aside = path.with_name(f".{path.name}.{secrets.token_hex(4)}.gc")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    info = aside.stat()
    if info.st_mtime >= idle_before:
        try:
            os.link(aside, path)  # put back, unless a new write already made it again
        except FileExistsError:
            pass
        aside.unlink()
        return 0
    aside.unlink()
    return info.st_size


class BlockWriter:
    """Verifies and stores uploaded blocks in batches: blocks that arrive while a batch is
    being written wait for the next one, which is verified, written and made durable in
    one thread hop (`put_many`). `put` returns once its block is durable, or raises."""

    def __init__(
        self, store: BlockStore, *, max_batch: int = 128, claim: Claim | None = None
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._claim = claim  # for a store that needs claims (S3): between verifying and storing
        self._pending: list[tuple[bytes, bytes | memoryview, asyncio.Future[int]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def put(self, digest: bytes, stored: bytes | memoryview) -> int:
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
                if self._claim is None:
                    results = await asyncio.to_thread(self._write, batch)
                else:
                    results = await self._claim_and_write(batch)
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

    async def _claim_and_write(
        self, batch: list[tuple[bytes, bytes | memoryview, asyncio.Future[int]]]
    ) -> list[int | BadBlock]:
        assert self._claim is not None
        results, good = await asyncio.to_thread(self._verify, batch)
        if good:
            sizes = [r for r in results if not isinstance(r, BadBlock)]
            await self._claim([(d, size, len(s)) for (d, s), size in zip(good, sizes, strict=True)])
            await asyncio.to_thread(self._store.put_many, good)
        return results

    def _write(
        self, batch: list[tuple[bytes, bytes | memoryview, asyncio.Future[int]]]
    ) -> list[int | BadBlock]:
        results, good = self._verify(batch)
        if good:
            self._store.put_many(good)
        return results

    @staticmethod
    def _verify(
        batch: list[tuple[bytes, bytes | memoryview, asyncio.Future[int]]],
    ) -> tuple[list[int | BadBlock], list[tuple[bytes, bytes | memoryview]]]:
        results: list[int | BadBlock] = []
        good: list[tuple[bytes, bytes | memoryview]] = []
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
        return results, good
