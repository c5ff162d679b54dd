"""Scan a workspace: every file and folder not ignored, with its blocks. Unchanged files (same
size, mtime and inode as in the local index) are not re-read."""

from __future__ import annotations

import asyncio
import os
import stat
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from client.sync.ignore import Ignore
from protocol.files import path_problem
from storage.client.sync_index import LocalRow, SyncIndex
from storage.content.chunker import Chunk, chunk_stream_parallel


@dataclass(frozen=True, slots=True)
class LocalFile:
    kind: str  # "file" | "dir"
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    chunks: tuple[tuple[str, int], ...] = ()  # (hash, length), in order

    @property
    def blocks(self) -> tuple[str, ...]:
        return tuple(h for h, _ in self.chunks)


OnChunk = Callable[[Path, Chunk], None]  # called from a hashing thread, chunk by chunk
EARLY_BYTES = 32 << 20  # files this large are shown to `on_chunk` while they are hashed


def hash_file(path: Path, on_chunk: OnChunk | None = None) -> tuple[tuple[str, int], ...]:
    chunks: list[tuple[str, int]] = []
    with open(path, "rb", buffering=0) as f:
        for c in chunk_stream_parallel(f):
            chunks.append((c.hash, c.length))
            if on_chunk is not None:
                on_chunk(path, c)
    return tuple(chunks)


@dataclass
class ScanResult:
    files: dict[str, LocalFile]
    hashed: int  # how many files had to be read
    skipped: list[tuple[str, str]]  # (path, why): names the server would refuse, NFC twins
    # Files and folders this device may not read: what is in them is not known, so nothing
    # there counts as deleted ("" is the whole folder).
    unreadable: list[str] = field(default_factory=list)
    # Files changed so recently they may still be being written (`settle_ns`): neither read
    # nor synced this time, as Syncthing waits for a file to settle.
    settling: list[str] = field(default_factory=list)
    settled_in_ns: int = 0  # when to look again: one of them rests, or pauses long enough to read


def walk(
    root: Path, ignore: Ignore, rename: bool = True
) -> tuple[dict[str, os.stat_result], list[tuple[str, str]], list[str]]:
    """Every path's stat, the names the server would refuse (with why), and the unreadable
    folders. Names are NFC, as the server keeps them: see `nfc_name`."""
    found: dict[str, os.stat_result] = {}
    skipped: list[tuple[str, str]] = []
    unreadable: list[str] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        folder = root / rel_dir if rel_dir else root
        try:
            entries = list(os.scandir(folder))
        except PermissionError:
            unreadable.append(rel_dir)
            continue
        except (FileNotFoundError, NotADirectoryError):
            continue
        names = {entry.name for entry in entries}
        for entry in entries:
            if entry.is_symlink():
                continue
            name, why = nfc_name(folder, entry.name, names) if rename else (entry.name, None)
            rel = f"{rel_dir}/{name}" if rel_dir else name
            is_dir = entry.is_dir()
            if ignore.ignored(rel, is_dir):
                continue
            if why := why or path_problem(rel):
                skipped.append((rel, why))
                continue
            try:
                found[rel] = os.stat(folder / name)
            except FileNotFoundError:
                continue
            if is_dir:
                stack.append(rel)
    return found, skipped, unreadable


def nfc_name(folder: Path, name: str, names: set[str]) -> tuple[str, str | None]:
    """The name in NFC, and why it cannot be synced if it cannot. A name in another form (a
    file from a macOS disk is NFD) is renamed to NFC on disk, as Syncthing does, so the
    server and every device agree on one name; where both forms are present, the other form
    is left alone and reported."""
    nfc = unicodedata.normalize("NFC", name)
    if nfc == name:
        return name, None
    if nfc in names:
        return name, f"{nfc!r} is here too, the same name in another Unicode form: rename one"
    try:
        os.rename(folder / name, folder / nfc)
    except OSError as exc:
        return name, f"could not rename it to its NFC form: {exc.strerror}"
    return nfc, None


HASH_BATCH_BYTES = 8 << 20  # small files are hashed many per thread hop, up to this many bytes
HASHERS = 2  # batches hashed at once (hashing releases the GIL)

Hashed = tuple[str, tuple[tuple[str, int], ...] | None]


def _hash_batch(
    root: Path, rels: list[str], on_chunk: OnChunk | None, unreadable: list[str]
) -> list[Hashed]:
    out: list[Hashed] = []
    for rel in rels:
        try:
            out.append((rel, hash_file(root / rel, on_chunk)))
        except FileNotFoundError:
            out.append((rel, None))  # gone meanwhile: not part of this scan
        except PermissionError:
            out.append((rel, None))
            unreadable.append(rel)
    return out


async def _hash_all(
    root: Path,
    rels: list[str],
    stats: dict[str, os.stat_result],
    on_chunk: OnChunk | None,
    unreadable: list[str],
) -> list[Hashed]:
    batches: list[list[str]] = []
    size = HASH_BATCH_BYTES
    for rel in rels:
        if size >= HASH_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(rel)
        size += stats[rel].st_size + 4096
    slots = asyncio.Semaphore(HASHERS)

    async def one(batch: list[str]) -> list[Hashed]:
        large = any(stats[rel].st_size >= EARLY_BYTES for rel in batch)
        async with slots:
            return await asyncio.to_thread(
                _hash_batch, root, batch, on_chunk if large else None, unreadable
            )

    return [h for done in await asyncio.gather(*map(one, batches)) for h in done]


QUIET_NS = 300_000_000  # a large file untouched this long is read while it settles


def _read_early(st: os.stat_result, now_ns: int, settle_ns: int) -> bool:
    """Whether a large file still settling is read (and its blocks sent, and announced to
    other devices) now rather than once it rests: the writer paused, and reading it is
    what takes time. It is committed only if it is unchanged once it has rested."""
    return st.st_size >= EARLY_BYTES and now_ns - st.st_mtime_ns >= min(QUIET_NS, settle_ns)


def still_written(st: os.stat_result, now_ns: int, settle_ns: int) -> bool:
    """Whether a changed file was modified within the last `settle_ns`: an editor or a
    download may still be writing it (a 150 MB copy once made four versions on the way)."""
    return settle_ns > 0 and now_ns - st.st_mtime_ns < settle_ns


async def scan(
    root: Path,
    ignore: Ignore,
    index: SyncIndex,
    on_chunk: OnChunk | None = None,
    *,
    settle_ns: int = 0,
    rename: bool = True,
) -> ScanResult:
    """With `on_chunk`, the chunks of large files being hashed are shown to it as they are
    found (a sync starts sending them at once). A changed file modified less than
    `settle_ns` ago is left out (`ScanResult.settling`). `rename=False` (a preview, which
    changes nothing) leaves a name in another Unicode form as it is instead of renaming it to
    NFC (`nfc_name`)."""
    ignore.reload()
    stats, skipped, unreadable = await asyncio.to_thread(walk, root, ignore, rename)
    cached = await index.local_rows()
    files: dict[str, LocalFile] = {}
    fresh: list[LocalRow] = []
    known: dict[str, tuple[tuple[str, int], ...]] = {}
    to_hash: list[str] = []
    settling: list[str] = []
    settled_in = 0
    now_ns = time.time_ns()
    for rel, st in stats.items():
        if stat.S_ISREG(st.st_mode):
            row = cached.get(rel)
            unchanged = row is not None and (row.size, row.mtime_ns, row.inode) == (
                st.st_size, st.st_mtime_ns, st.st_ino
            )  # fmt: skip
            if not still_written(st, now_ns, settle_ns):
                if row is not None and unchanged:
                    known[rel] = row.chunks
                else:
                    to_hash.append(rel)
                continue
            settling.append(rel)
            look_in = st.st_mtime_ns + settle_ns - now_ns  # it has rested then
            if not unchanged and on_chunk is not None and st.st_size >= EARLY_BYTES:
                if _read_early(st, now_ns, settle_ns):
                    to_hash.append(rel)  # hashed and sent now; committed once it rests
                else:  # read as soon as its writer has paused
                    look_in = st.st_mtime_ns + min(QUIET_NS, settle_ns) - now_ns
            settled_in = min(settled_in, look_in) if settled_in else look_in
    early = set(settling)
    for rel, chunks in await _hash_all(root, to_hash, stats, on_chunk, unreadable):
        if chunks is not None:
            if rel not in early:
                known[rel] = chunks
            st = stats[rel]
            fresh.append(LocalRow(rel, st.st_size, st.st_mtime_ns, st.st_ino, chunks))
    for rel, st in stats.items():
        if stat.S_ISDIR(st.st_mode):
            files[rel] = LocalFile("dir", 0, st.st_mtime_ns, st.st_ino)
        elif rel in known:
            files[rel] = LocalFile("file", st.st_size, st.st_mtime_ns, st.st_ino, known[rel])
    if fresh:
        await index.put_local(fresh)
    gone = [p for p in cached if p not in files]
    if gone:
        await index.drop_local(gone)
    settled_in -= time.time_ns() - now_ns  # the time hashing took counts
    return ScanResult(
        files, len(fresh), skipped, sorted(unreadable), sorted(settling), max(settled_in, 0)
    )
