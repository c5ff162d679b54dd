"""The `roost admin` commands that work on a server's data folder, on the server machine:
backup, restore, gc, du and copy. The CLI parses and prints; what they do is here.

Every storage error leaves as CommandFailed (one line); `note` gets progress lines (waiting
for a backup or a garbage collection to end) as they happen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from protocol.sizes import format_size
from server.entry import BadSetting, CommandFailed
from storage.content import stores
from storage.content.s3_blocks import S3BlockStore
from storage.content.s3_location import BadLocation, parse_s3_url
from storage.content.stores import recorded_location
from storage.database import Database, now_ms
from storage.engines import server_database, where
from storage.errors import StorageError, Unavailable
from storage.server import backup as backups
from storage.server import space
from storage.server.data_engine import recorded_database, require_url_if_postgres
from storage.server.disk_usage import DiskUsage, disk_usage, disk_usage_of
from storage.server.expiry import Expired, expire

if TYPE_CHECKING:  # its module imports the PostgreSQL driver: only `copy` loads it
    from storage.server.copy_to_postgres import CopyReport

__all__ = ["DiskUsage", "backup", "copy", "du", "gc", "restore"]

Note = Callable[[str], None]


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except StorageError as exc:
        raise CommandFailed(str(exc)) from exc


def _database_url(db: str | None) -> str | None:
    if db is not None and not db.startswith(("postgresql://", "postgres://")):
        raise BadSetting(
            "--db", "only postgresql://USER@HOST:PORT/DB (without --db: SQLite in --data)"
        )
    return db


def _blocks_url(folder: Path, given: str | None) -> str | None:
    """The bucket of the folder's server (--blocks, else what it last ran with), or None
    when its blocks are in the folder."""
    url = given or recorded_location(folder)
    if url is not None:
        try:
            parse_s3_url(url)
        except BadLocation as exc:
            raise BadSetting("--blocks", str(exc)) from None
    return url


def _in_bucket_note(folder: Path) -> str | None:
    """One line saying where the blocks are, if the folder's server keeps them in S3."""
    url = recorded_location(folder)
    if url is None:
        return None
    return (
        f"the server on {folder} keeps its blocks in {stores.where(url, folder)}:"
        " back up the bucket with its own tools (e.g. rclone sync, aws s3 sync)"
    )


def _refuse_on_postgres(folder: Path, blocks_only: bool, database_step: str) -> None:
    """backup and restore copy SQLite's file: for a server on PostgreSQL, say what does."""
    postgres = recorded_database(folder)
    if postgres is not None and not blocks_only:
        raise CommandFailed(
            f"the server on {folder} keeps its database in PostgreSQL ({postgres}):"
            f" {database_step}, and the block folder with --blocks-only"
        )


def backup(folder: Path, dest: Path, *, blocks_only: bool, note: Note) -> None:
    with _one_line():
        _refuse_on_postgres(folder, blocks_only, "back that up with pg_dump first")
        waiting = partial(note, f"waiting for a garbage collection of {folder} to end")
        in_bucket = _in_bucket_note(folder)
        if blocks_only:
            if in_bucket:
                raise CommandFailed(in_bucket)
            files = backups.backup_blocks(folder, dest, waiting=waiting)
            note(f"backed up the block folder to {dest}: {files} block files")
            return
        report = backups.backup(folder, dest, waiting=waiting)
    note(
        f"backed up to {dest}: database {report.database_bytes} bytes"
        f" (schema {report.schema_version}), {report.block_files} block files"
    )
    if in_bucket:
        note(f"warning: {in_bucket}")


def restore(folder: Path, source: Path, *, force: bool, blocks_only: bool, note: Note) -> None:
    with _one_line():
        _refuse_on_postgres(folder, blocks_only, "restore that with pg_restore")
        if blocks_only:
            if in_bucket := _in_bucket_note(folder):
                raise CommandFailed(in_bucket.replace("back up", "restore"))
            files = backups.restore_blocks(source, folder)
            note(f"restored the block folder of {source}: {files} block files")
            return
        report = backups.restore(source, folder, force=force)
    note(
        f"restored {source}: schema {report.schema_version}, {report.block_files} block files;"
        " start the server with roost serve"
    )


def gc(
    folder: Path, *, grace_seconds: float, db: str | None, blocks: str | None, note: Note
) -> None:
    url = _database_url(db)
    bucket = _blocks_url(folder, blocks)
    with _one_line():
        require_url_if_postgres(folder, url, "gc")
        if url is None and not (folder / backups.DATABASE).exists():
            raise CommandFailed(f"no Roost database in {folder}")
        # Not during a backup: blocks its database snapshot names must stay until it copied
        # them.
        waiting = partial(note, f"waiting for a backup of {folder} to end")
        with backups.maintenance(folder, exclusive=True, waiting=waiting):
            expired, found = asyncio.run(_collect(folder, url, grace_seconds, bucket))
    if expired:
        note(
            f"forgot {expired.uploads} upload(s) and {expired.staged} staged block(s) never"
            f" committed, {expired.idempotency_keys} idempotency key(s) past their age"
        )
    where_ = "on disk" if bucket is None else f"in {stores.where(bucket, folder)}"
    note(f"freed {found.blocks} block(s), {format_size(found.bytes)} {where_}")


async def _collect(
    folder: Path, url: str | None, grace_seconds: float, bucket: str | None = None
) -> tuple[Expired, space.Collected]:
    """Expired records, then unreferenced blocks (with any upload records they still have)."""
    store = stores.block_store(bucket, folder)
    if isinstance(store, S3BlockStore):  # a wrong key or bucket stops here, in one line
        await asyncio.to_thread(store.check)
    db = await _open(folder, url)
    try:
        expired = await expire(db, now_ms())
        return expired, await space.collect_garbage(db, store, grace_seconds=grace_seconds)
    finally:
        await db.close()


async def _open(folder: Path, url: str | None) -> Database:
    """The server's database, as roost serve opens it (migrated to this version's schema)."""
    return await server_database(url, folder / backups.DATABASE).open()


def du(folder: Path, *, db: str | None) -> DiskUsage:
    url = _database_url(db)
    with _one_line():
        require_url_if_postgres(folder, url, "du")
        if (bucket := recorded_location(folder)) is not None:
            raise CommandFailed(
                f"the server on {folder} keeps its blocks in {stores.where(bucket, folder)}:"
                " roost admin du measures a data folder's blocks; see the bucket's size with its"
                " own tools (e.g. aws s3 ls --summarize --recursive)"
            )
        return asyncio.run(disk_usage(folder) if url is None else _usage_of(folder, url))


async def _usage_of(folder: Path, url: str) -> DiskUsage:
    database = await _open(folder, url)
    try:
        return await disk_usage_of(database, folder, where(url, folder / backups.DATABASE))
    finally:
        await database.close()


def copy(folder: Path, to: str) -> CopyReport:
    """The whole database of a stopped server on `folder` into the empty PostgreSQL `to`."""
    from storage.postgres import describe, unreachable_reason
    from storage.server.copy_to_postgres import copy_to_postgres

    if not to.startswith(("postgresql://", "postgres://")):
        raise BadSetting("--to", "only postgresql://USER@HOST:PORT/DB")
    with _one_line():
        try:
            return asyncio.run(copy_to_postgres(folder, to))
        except Unavailable as exc:
            raise CommandFailed(
                f"cannot copy: database unreachable at {describe(to)}: {unreachable_reason(exc)}"
            ) from None
