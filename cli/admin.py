"""admin: operating a server. Two kinds of commands, told apart in the help: those run on the
server machine against its data folder (backup, restore, gc, du, copy), and those sent through the
server as the admin account logged in here (invites and accounts: cli.admin_invites,
cli.admin_users, cli.admin_accounts)."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Annotated

import platformdirs
import typer
from rich.table import Table

from cli import admin_accounts, admin_copy, admin_invites, admin_users, output
from cli.options import AsJson, duration_seconds
from protocol.sizes import format_size
from storage.content import stores
from storage.content.s3_blocks import S3BlockStore
from storage.content.s3_location import BadLocation, parse_s3_url
from storage.content.stores import recorded_location
from storage.database import Database, now_ms
from storage.engines import server_database, where
from storage.errors import StorageError
from storage.server import backup as backups
from storage.server import space
from storage.server.data_engine import recorded_database, require_url_if_postgres
from storage.server.disk_usage import DiskUsage, disk_usage, disk_usage_of
from storage.server.expiry import Expired, expire

app = typer.Typer(
    help="Operate a server. Invites and accounts go through the server as the admin account"
    " logged in here; backup, restore, gc, du and copy run on the server machine, on its data"
    " folder.",
    no_args_is_help=True,
)
ON_THE_MACHINE = "On the server machine (its data folder; no login needed)"

DataDir = Annotated[
    Path | None,
    typer.Option("--data", help="The server's data folder (as given to roost serve --data)."),
]


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="The server's PostgreSQL database, as given to roost serve --db"
        " (postgresql://USER@HOST:PORT/DB). Default: SQLite in --data.",
    ),
]
BlocksUrl = Annotated[
    str | None,
    typer.Option(
        "--blocks",
        metavar="URL",
        help="The server's S3 bucket, as given to roost serve --blocks (credentials from"
        " AWS_*). Default: what the server on --data last ran with.",
    ),
]
BlocksOnly = Annotated[
    bool,
    typer.Option(
        "--blocks-only",
        help="Only the block folder: for a server on PostgreSQL, whose database pg_dump and"
        " pg_restore handle.",
    ),
]


def _data(data: Path | None) -> Path:
    return data or Path(platformdirs.user_data_dir("roost-server"))


def _url(db: str | None) -> str | None:
    if db is not None and not db.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter(
            "only postgresql://USER@HOST:PORT/DB (without --db: SQLite in --data)",
            param_hint="--db",
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
            raise typer.BadParameter(str(exc), param_hint="--blocks") from None
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
        raise StorageError(
            f"the server on {folder} keeps its database in PostgreSQL ({postgres}):"
            f" {database_step}, and the block folder with --blocks-only"
        )


@app.command("backup", rich_help_panel=ON_THE_MACHINE)
def backup(dest: Path, data: DataDir = None, blocks_only: BlocksOnly = False) -> None:
    """Back up the server's data into DEST (a new folder); safe while the server runs. For a
    server on PostgreSQL: pg_dump its database first, then --blocks-only."""
    folder = _data(data)
    _refuse_on_postgres(folder, blocks_only, "back that up with pg_dump first")
    waiting = partial(output.note, f"waiting for a garbage collection of {folder} to end")
    in_bucket = _in_bucket_note(folder)
    if blocks_only:
        if in_bucket:
            raise StorageError(in_bucket)
        files = backups.backup_blocks(folder, dest, waiting=waiting)
        output.note(f"backed up the block folder to {dest}: {files} block files")
        return
    report = backups.backup(folder, dest, waiting=waiting)
    output.note(
        f"backed up to {dest}: database {report.database_bytes} bytes"
        f" (schema {report.schema_version}), {report.block_files} block files"
    )
    if in_bucket:
        output.note(f"warning: {in_bucket}")


@app.command("restore", rich_help_panel=ON_THE_MACHINE)
def restore(
    source: Path,
    data: DataDir = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing database.")] = False,
    blocks_only: BlocksOnly = False,
) -> None:
    """Restore a backup into the data folder. Stop the server first. For a server on
    PostgreSQL: pg_restore its database, then --blocks-only."""
    folder = _data(data)
    _refuse_on_postgres(folder, blocks_only, "restore that with pg_restore")
    if blocks_only:
        if in_bucket := _in_bucket_note(folder):
            raise StorageError(in_bucket.replace("back up", "restore"))
        files = backups.restore_blocks(source, folder)
        output.note(f"restored the block folder of {source}: {files} block files")
        return
    report = backups.restore(source, folder, force=force)
    output.note(
        f"restored {source}: schema {report.schema_version}, {report.block_files} block files;"
        " start the server with roost serve"
    )


@app.command("gc", rich_help_panel=ON_THE_MACHINE)
def gc(
    data: DataDir = None,
    grace: Annotated[
        str,
        typer.Option(
            "--grace",
            help="Keep unreferenced blocks younger than this (e.g. 30s, 10m, 24h): uploads"
            " not committed yet. Longer than your slowest upload.",
        ),
    ] = "1h",
    db: DatabaseUrl = None,
    blocks: BlocksUrl = None,
) -> None:
    """Forget uploads, staged lists and idempotency keys past their age, then delete file
    blocks nothing refers to any more (in the data folder, or in the server's S3 bucket);
    safe while the server runs (a backup running now is waited for)."""
    folder, url = _data(data), _url(db)
    bucket = _blocks_url(folder, blocks)
    require_url_if_postgres(folder, url, "gc")
    if url is None and not (folder / backups.DATABASE).exists():
        raise StorageError(f"no Roost database in {folder}")
    seconds = duration_seconds(grace, "--grace")
    # Not during a backup: blocks its database snapshot names must stay until it copied them.
    waiting = partial(output.note, f"waiting for a backup of {folder} to end")
    with backups.maintenance(folder, exclusive=True, waiting=waiting):
        expired, found = asyncio.run(_collect(folder, url, seconds, bucket))
    if expired:
        output.note(
            f"forgot {expired.uploads} upload(s) and {expired.staged} staged block(s) never"
            f" committed, {expired.idempotency_keys} idempotency key(s) past their age"
        )
    where = "on disk" if bucket is None else f"in {stores.where(bucket, folder)}"
    output.note(f"freed {found.blocks} block(s), {format_size(found.bytes)} {where}")


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


@app.command("du", rich_help_panel=ON_THE_MACHINE)
def du(data: DataDir = None, as_json: AsJson = False, db: DatabaseUrl = None) -> None:
    """Where the server's disk goes: database, blocks by owner, old versions, attachments,
    what awaits a commit or garbage collection, free space. Read-only: safe while the server
    runs."""
    folder, url = _data(data), _url(db)
    require_url_if_postgres(folder, url, "du")
    if (bucket := recorded_location(folder)) is not None:
        raise StorageError(
            f"the server on {folder} keeps its blocks in {stores.where(bucket, folder)}:"
            " roost admin du measures a data folder's blocks; see the bucket's size with its"
            " own tools (e.g. aws s3 ls --summarize --recursive)"
        )
    report = asyncio.run(disk_usage(folder) if url is None else _usage_of(folder, url))
    if as_json:
        output.print_json(report)
        return
    _print_usage(report)


async def _usage_of(folder: Path, url: str) -> DiskUsage:
    database = await _open(folder, url)
    try:
        return await disk_usage_of(database, folder, where(url, folder / backups.DATABASE))
    finally:
        await database.close()


def _print_usage(r: DiskUsage) -> None:
    size = output.size
    wal = f" (+ {size(r.wal_bytes)} WAL)" if r.wal_bytes else ""
    summary = Table("", "", "", box=None, show_header=False, pad_edge=False)
    summary.add_row("database", size(r.database_bytes + r.wal_bytes), f"{r.database}{wal}")
    summary.add_row(
        "blocks on disk",
        size(r.blocks_on_disk_bytes),
        f"{r.block_files} block files, {r.packs} packs",
    )
    summary.add_row("  in use", size(r.referenced_bytes), "in versions and attachments")
    summary.add_row(
        "  awaiting commit",
        size(r.awaiting_commit_bytes),
        f"{r.awaiting_commit_blocks} uploaded blocks, not committed yet",
    )
    summary.add_row(
        "  awaiting gc",
        size(r.awaiting_gc_bytes + r.unrecorded_bytes + r.temp_bytes),
        f"{r.awaiting_gc_blocks} unreferenced blocks"
        + (f", {size(r.unrecorded_bytes)} unrecorded" if r.unrecorded_bytes else "")
        + (f", {size(r.temp_bytes)} temp files" if r.temp_bytes else "")
        + ": roost admin gc",
    )
    used = r.filesystem_total_bytes - r.filesystem_free_bytes
    percent = 100 * used / r.filesystem_total_bytes if r.filesystem_total_bytes else 0.0
    summary.add_row(
        "free",
        size(r.filesystem_free_bytes),
        f"of {size(r.filesystem_total_bytes)} on the filesystem ({percent:.0f}% used)",
    )
    output.stdout.print(f"Roost data in {output.line(r.data_dir)}", markup=False)
    output.stdout.print(summary)
    if not r.owners:
        return
    owners = Table("owner", "files", "old versions", "attachments", "uncommitted", "on disk")
    for o in r.owners:
        owners.add_row(
            output.line(o.username),
            size(o.files_bytes),
            f"{size(o.old_versions_bytes)} ({o.old_versions})",
            f"{size(o.attachments_bytes)} ({o.attachments})",
            size(o.uncommitted_bytes),
            size(o.stored_bytes),
        )
    output.stdout.print(owners)
    output.stdout.print(
        "files, old versions and attachments: as users see them; on disk: the compressed"
        " blocks they refer to (a block shared by two owners counts for each)",
        markup=False,
    )


admin_invites.register(app)
admin_users.register(app)
admin_accounts.register(app)
admin_copy.register(app)
