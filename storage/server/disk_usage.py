"""Where a server's disk goes (`roost admin du`): the database, each owner's blocks, old
versions kept, attachments, blocks waiting for a commit or for `roost admin gc`, and the
free space left. Read-only (an SQLite read-only connection and a walk of the block folder),
so it runs beside a running server: in WAL mode a reader holds up no writer, and each query
is a short read of its own. A server on PostgreSQL is read the same way through its reader
(`disk_usage_of`): the same queries, its database's size from PostgreSQL.

Sizes of files, versions and attachments are raw (what users see); "on disk" sizes are the
stored, zstd-compressed blocks. A block two owners both hold counts for each of them, once.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.content.blocks import pack_table
from storage.database import Database, marks
from storage.errors import StorageError

DATABASE = "roost.db"
BLOCKS = "blocks"
_LOOKUP = 500  # digests per query when matching block files against the database
# One query's rows as tuples: the same SQL runs on a SQLite connection or a Database's reader.
Rows = Callable[[str, Sequence[Any]], Awaitable[list[tuple[Any, ...]]]]


@dataclass(frozen=True)
class OwnerUsage:
    username: str
    files_bytes: int  # current versions of files in namespaces they own (raw)
    old_versions: int  # versions kept besides the current ones (deletions too)
    old_versions_bytes: int  # raw
    attachments: int
    attachments_bytes: int  # raw
    uncommitted_bytes: int  # uploads no commit used yet (raw)
    stored_bytes: int  # on disk: the distinct blocks all of the above refer to


@dataclass(frozen=True)
class DiskUsage:
    data_dir: str
    database: str  # roost.db, or the PostgreSQL database (never a password)
    database_bytes: int  # roost.db, or PostgreSQL's size of the database
    wal_bytes: int  # roost.db-wal and roost.db-shm
    blocks_on_disk_bytes: int  # everything under blocks/: files, packs, temp files
    block_files: int
    packs: int
    referenced_bytes: int  # stored blocks a version or an attachment refers to
    awaiting_commit_blocks: int  # unreferenced, but an upload waits for its commit
    awaiting_commit_bytes: int
    awaiting_gc_blocks: int  # unreferenced and nothing waits for them: `roost admin gc`
    awaiting_gc_bytes: int
    unrecorded_bytes: int  # on disk with no database row (a crash, or dead entries in packs)
    temp_bytes: int  # temp files of writes in flight or cut short
    filesystem_free_bytes: int
    filesystem_total_bytes: int
    owners: list[OwnerUsage] = field(default_factory=list)


async def disk_usage(data_dir: Path) -> DiskUsage:
    """The figures of a server whose database is SQLite in `data_dir`."""
    db_path = data_dir / DATABASE
    if not db_path.exists():
        raise StorageError(f"no Roost database in {data_dir}")
    conn = _open_read_only(db_path)

    async def rows(sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return conn.execute(sql, parameters).fetchall()

    try:
        # Each query reads on its own (no snapshot held across them): a long read would hold
        # back the server's WAL restart, which waits for readers with writes held
        # (storage.database). The figures may be a moment apart; each is consistent.
        found = await _figures(rows, data_dir)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read {db_path}: {exc}") from exc
    finally:
        conn.close()
    wal = _size(db_path.with_name(DATABASE + "-wal")) + _size(db_path.with_name(DATABASE + "-shm"))
    return _report(data_dir, DATABASE, _size(db_path), wal, found)


async def disk_usage_of(db: Database, data_dir: Path, where: str) -> DiskUsage:
    """The figures of a server whose database is `db` (PostgreSQL, shown as `where`) and
    whose blocks are in `data_dir`."""

    async def rows(sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with db.reader.execute(sql, parameters) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    found = await _figures(rows, data_dir)
    [(size,)] = await rows("SELECT pg_database_size(current_database())", ())
    return _report(data_dir, where, int(size), 0, found)


@dataclass(frozen=True)
class _Figures:
    owners: list[OwnerUsage]
    referenced: int
    waiting: tuple[int, int]
    garbage: tuple[int, int]
    disk: _Disk


async def _figures(rows: Rows, data_dir: Path) -> _Figures:
    owners = await _owners(rows)
    referenced, waiting, garbage = await _block_states(rows)
    return _Figures(
        owners, referenced, waiting, garbage, await _walk_blocks(rows, data_dir / BLOCKS)
    )


def _report(
    data_dir: Path, database: str, database_bytes: int, wal_bytes: int, f: _Figures
) -> DiskUsage:
    fs = shutil.disk_usage(data_dir)
    return DiskUsage(
        data_dir=str(data_dir),
        database=database,
        database_bytes=database_bytes,
        wal_bytes=wal_bytes,
        blocks_on_disk_bytes=f.disk.total,
        block_files=f.disk.files,
        packs=f.disk.packs,
        referenced_bytes=f.referenced,
        awaiting_commit_blocks=f.waiting[0],
        awaiting_commit_bytes=f.waiting[1],
        awaiting_gc_blocks=f.garbage[0],
        awaiting_gc_bytes=f.garbage[1],
        unrecorded_bytes=f.disk.unrecorded,
        temp_bytes=f.disk.temp,
        filesystem_free_bytes=fs.free,
        filesystem_total_bytes=fs.total,
        owners=f.owners,
    )


def _open_read_only(db_path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        conn.execute("PRAGMA query_only = ON")
        conn.isolation_level = None  # autocommit: every statement its own short read
        return conn
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {db_path} to read: {exc}") from exc


async def _owners(rows: Rows) -> list[OwnerUsage]:
    async def per_owner(sql: str) -> dict[int, tuple[int, ...]]:
        return {int(r[0]): tuple(int(v or 0) for v in r[1:]) for r in await rows(sql, ())}

    kept = await per_owner(
        "SELECT owner_id, SUM(entries), SUM(bytes) FROM namespaces GROUP BY owner_id"
    )
    current = await per_owner(
        "SELECT n.owner_id, COUNT(*), SUM(v.size) FROM files_current c"
        " JOIN file_versions v ON v.id = c.version_id"
        " JOIN namespaces n ON n.id = c.namespace_id GROUP BY n.owner_id"
    )
    own = await per_owner(
        "SELECT user_id, attachments, attachment_bytes, uncommitted_bytes FROM user_use"
    )
    stored = await per_owner(
        "SELECT x.owner, SUM(b.stored_size) FROM ("
        " SELECT n.owner_id AS owner, vb.hash AS hash FROM version_blocks vb"
        "  JOIN file_versions v ON v.id = vb.version_id"
        "  JOIN namespaces n ON n.id = v.namespace_id"
        " UNION"
        " SELECT a.owner_id, ab.hash FROM attachment_blocks ab"
        "  JOIN attachments a ON a.id = ab.attachment_id"
        ") x JOIN blocks b ON b.hash = x.hash GROUP BY x.owner"
    )
    owners = []
    for user_id, username in await rows("SELECT id, username FROM users ORDER BY username", ()):
        entries, version_bytes = kept.get(user_id, (0, 0))
        current_count, current_bytes = current.get(user_id, (0, 0))
        attachments, attachment_bytes, uncommitted = own.get(user_id, (0, 0, 0))
        owners.append(
            OwnerUsage(
                username=str(username),
                files_bytes=current_bytes,
                old_versions=entries - current_count,
                old_versions_bytes=version_bytes - current_bytes,
                attachments=attachments,
                attachments_bytes=attachment_bytes,
                uncommitted_bytes=uncommitted,
                stored_bytes=stored.get(user_id, (0,))[0],
            )
        )
    owners.sort(key=lambda o: (-o.stored_bytes, o.username))
    return owners


async def _block_states(rows: Rows) -> tuple[int, tuple[int, int], tuple[int, int]]:
    """Stored bytes of referenced blocks; (count, stored bytes) of unreferenced ones an
    upload still waits to commit, and of those nothing waits for (garbage)."""
    unreferenced = (
        "refcount <= 0 AND NOT EXISTS (SELECT 1 FROM attachment_blocks a WHERE a.hash = b.hash)"
    )
    uploaded = "EXISTS (SELECT 1 FROM block_uploads u WHERE u.hash = b.hash)"
    [row] = await rows(
        f"SELECT COALESCE(SUM(stored_size), 0) FROM blocks b WHERE NOT ({unreferenced})", ()
    )
    [waiting] = await rows(
        f"SELECT COUNT(*), COALESCE(SUM(stored_size), 0) FROM blocks b"
        f" WHERE {unreferenced} AND {uploaded}",
        (),
    )
    [garbage] = await rows(
        f"SELECT COUNT(*), COALESCE(SUM(stored_size), 0) FROM blocks b"
        f" WHERE {unreferenced} AND NOT {uploaded}",
        (),
    )
    return int(row[0]), (int(waiting[0]), int(waiting[1])), (int(garbage[0]), int(garbage[1]))


@dataclass
class _Disk:
    total: int = 0
    files: int = 0
    packs: int = 0
    unrecorded: int = 0
    temp: int = 0


async def _walk_blocks(rows: Rows, root: Path) -> _Disk:
    """What the block folder holds, and how much of it no database row names."""
    disk = _Disk()
    if not root.is_dir():
        return disk
    loose: list[tuple[str, int]] = []
    for folder, _, names in os.walk(root):
        in_packs = Path(folder).name == "packs"
        for name in names:
            path = os.path.join(folder, name)
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                continue  # collected while we walked
            disk.total += size
            if name.startswith("."):
                disk.temp += size
            elif in_packs and name.endswith(".pack"):
                disk.packs += 1
                disk.unrecorded += await _dead_in_pack(rows, Path(path))
            elif len(Path(folder).name) == 2:
                disk.files += 1
                loose.append((Path(folder).name + name, size))
    recorded = await _recorded(rows, (digest for digest, _ in loose))
    disk.unrecorded += sum(size for digest, size in loose if digest not in recorded)
    return disk


async def _dead_in_pack(rows: Rows, pack: Path) -> int:
    try:
        table = pack_table(pack)
    except (FileNotFoundError, StorageError):
        return 0  # rewritten meanwhile, or not ours to judge here
    recorded = await _recorded(rows, (digest.hex() for digest, _, _ in table))
    return sum(length for digest, _, length in table if digest.hex() not in recorded)


async def _recorded(rows: Rows, digests: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for part in _batches(list(digests), _LOOKUP):
        in_list = marks(part)
        found.update(
            str(r[0])
            for r in await rows(f"SELECT hash FROM blocks WHERE hash IN ({in_list})", part)
        )
    return found


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
