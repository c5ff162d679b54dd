"""Backups of a server's data folder: the database through SQLite's online backup (a
consistent snapshot while the server keeps writing), then the block folder.

Blocks are written before the commit that references them, so copying blocks after the
database snapshot means every block the snapshot names is in the backup, as long as no
garbage collection deletes one meanwhile (a version purged after the snapshot frees blocks
the snapshot still names): a backup and a collection hold `maintenance.lock` in the data
folder, backups shared, a collection alone, each waiting for the other kind.

A server on PostgreSQL keeps only its blocks here: its database is dumped and restored with
PostgreSQL's own tools (pg_dump first, then `backup_blocks`, with no collection between).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.errors import StorageError
from storage.server.data_lock import data_folder_unused

DATABASE = "roost.db"
BLOCKS = "blocks"
MANIFEST = "backup.json"
MAINTENANCE_LOCK = "maintenance.lock"


@dataclass(frozen=True)
class BackupReport:
    schema_version: int
    database_bytes: int
    block_files: int


@contextlib.contextmanager
def maintenance(
    data_dir: Path, *, exclusive: bool, waiting: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the data folder for a backup (shared: backups may run together) or a garbage
    collection (`exclusive`); when the other kind holds it, call `waiting` and wait."""
    fd = open_maintenance_lock(data_dir)
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def open_maintenance_lock(data_dir: Path) -> int:
    """The lock file's descriptor, made if missing (`roost serve` makes it at start, so an
    operator with read-only access to a running server's data can still take it)."""
    path = data_dir / MAINTENANCE_LOCK
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:
        try:
            return os.open(path, os.O_RDONLY)  # an flock needs no write access
        except OSError as exc:
            raise StorageError(f"cannot open {path}: {exc.strerror}") from None


def backup(
    data_dir: Path, dest: Path, *, waiting: Callable[[], None] | None = None
) -> BackupReport:
    """Copy a (possibly running) server's data folder into `dest`, which must not exist yet.
    A garbage collection running now is waited for (`waiting` is told first)."""
    source_db = data_dir / DATABASE
    if not source_db.exists():
        raise StorageError(f"no Roost database in {data_dir}")
    if dest.exists() and any(dest.iterdir()):
        raise StorageError(f"{dest} is not empty; back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    with maintenance(data_dir, exclusive=False, waiting=waiting):
        _copy_database(source_db, dest / DATABASE)
        blocks = _copy_blocks(data_dir / BLOCKS, dest / BLOCKS)
    version = _schema_version(dest / DATABASE)
    manifest = {"created_at": time.time(), "schema_version": version, "block_files": blocks}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return BackupReport(version, (dest / DATABASE).stat().st_size, blocks)


def backup_blocks(data_dir: Path, dest: Path, *, waiting: Callable[[], None] | None = None) -> int:
    """The block folder alone into `dest` (a new folder), for a server whose database is in
    PostgreSQL: dump that first (pg_dump), so every block the dump names is here, as long as
    no garbage collection runs between the two (one running now is waited for)."""
    if not (data_dir / MAINTENANCE_LOCK).exists():  # roost serve makes it at start
        raise StorageError(f"no Roost data in {data_dir}: no server has run on it")
    if dest.exists() and any(dest.iterdir()):
        raise StorageError(f"{dest} is not empty; back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    with maintenance(data_dir, exclusive=False, waiting=waiting):
        blocks = _copy_blocks(data_dir / BLOCKS, dest / BLOCKS)
    manifest = {"created_at": time.time(), "blocks_only": True, "block_files": blocks}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return blocks


def restore_blocks(backup_dir: Path, data_dir: Path) -> int:
    """The block folder of a backup into a (stopped) server's data folder; its database is
    restored apart (pg_restore). Block files already there are kept: each is named by its
    content."""
    if not (backup_dir / MANIFEST).exists() or not (backup_dir / BLOCKS).is_dir():
        raise StorageError(
            f"{backup_dir} is not a Roost backup of blocks (no {MANIFEST} or {BLOCKS})"
        )
    with data_folder_unused(data_dir, holder="roost admin restore", doing="restoring into it"):
        data_dir.mkdir(parents=True, exist_ok=True)
        return _copy_blocks(backup_dir / BLOCKS, data_dir / BLOCKS)


def restore(backup_dir: Path, data_dir: Path, *, force: bool = False) -> BackupReport:
    """Put a backup in place as a server's data folder (with the server stopped: refused while
    one runs on it, and none can start until the restore is done)."""
    with data_folder_unused(data_dir, holder="roost admin restore", doing="restoring into it"):
        return _restore(backup_dir, data_dir, force=force)


def _restore(backup_dir: Path, data_dir: Path, *, force: bool) -> BackupReport:
    if _blocks_only(backup_dir):
        raise StorageError(
            f"{backup_dir} holds a block folder only (its server's database is in PostgreSQL):"
            " restore it with --blocks-only, and the database with pg_restore"
        )
    if not (backup_dir / MANIFEST).exists() or not (backup_dir / DATABASE).exists():
        raise StorageError(f"{backup_dir} is not a Roost backup (no {MANIFEST} or {DATABASE})")
    target_db = data_dir / DATABASE
    if target_db.exists() and not force:
        raise StorageError(f"{data_dir} already holds a database; use --force to replace it")
    data_dir.mkdir(parents=True, exist_ok=True)
    for leftover in (
        target_db.with_name(DATABASE + "-wal"),
        target_db.with_name(DATABASE + "-shm"),
    ):
        leftover.unlink(missing_ok=True)  # a stale WAL would be replayed over the restored file
    _copy_database(backup_dir / DATABASE, target_db)
    blocks = _copy_blocks(backup_dir / BLOCKS, data_dir / BLOCKS)
    return BackupReport(_schema_version(target_db), target_db.stat().st_size, blocks)


def _blocks_only(backup_dir: Path) -> bool:
    try:
        manifest = json.loads((backup_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("blocks_only") is True


def _copy_database(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # a consistent snapshot even while the server writes
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot copy {source}: {exc}") from exc
    if check != "ok":
        tmp.unlink(missing_ok=True)
        raise StorageError(f"the copy of {source} failed its integrity check: {check}")
    tmp.replace(target)


def _copy_blocks(source: Path, target: Path) -> int:
    """Copy block files (content-addressed, so one already there is already right)."""
    if not source.is_dir():
        return 0
    copied = 0
    # One folder's names at a time, as strings: Path.rglob (Python 3.11) holds every path it
    # has yielded until the end, ~0.6 KiB per block file, and pathlib interns every name.
    for folder, _, names in os.walk(source):
        into = target / Path(folder).relative_to(source)
        made = False
        for name in names:
            if name.endswith((".tmp", ".partial", ".gc")):
                continue  # an upload in flight or a block being collected: in no commit
            dest = os.path.join(into, name)
            if not os.path.exists(dest):
                if not made:
                    into.mkdir(parents=True, exist_ok=True)
                    made = True
                try:
                    shutil.copy2(os.path.join(folder, name), dest)
                except FileNotFoundError:
                    continue  # collected since it was listed
            copied += 1
    return copied


def _schema_version(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    finally:
        conn.close()
    return int(row[0])
