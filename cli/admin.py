"""admin: operating a server. Two kinds of commands, told apart in the help: those run on the
server machine against its data folder (backup, restore, gc, du, copy), and those sent through the
server as the admin account logged in here (invites and accounts: cli.admin_invites,
cli.admin_users, cli.admin_accounts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli import admin_accounts, admin_copy, admin_invites, admin_users, output
from cli.options import AsJson, duration_seconds

if TYPE_CHECKING:
    from server.entry.admin import DiskUsage

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
    from server.entry import default_data_dir

    return data or default_data_dir()


@contextmanager
def _flags() -> Iterator[None]:
    """A refused --db or --blocks reads as a usage error naming its flag."""
    from server.entry import BadSetting

    try:
        yield
    except BadSetting as exc:
        raise typer.BadParameter(exc.message, param_hint=exc.flag) from None


@app.command("backup", rich_help_panel=ON_THE_MACHINE)
def backup(dest: Path, data: DataDir = None, blocks_only: BlocksOnly = False) -> None:
    """Back up the server's data into DEST (a new folder); safe while the server runs. For a
    server on PostgreSQL: pg_dump its database first, then --blocks-only."""
    from server.entry import admin

    admin.backup(_data(data), dest, blocks_only=blocks_only, note=output.note)


@app.command("restore", rich_help_panel=ON_THE_MACHINE)
def restore(
    source: Path,
    data: DataDir = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing database.")] = False,
    blocks_only: BlocksOnly = False,
) -> None:
    """Restore a backup into the data folder. Stop the server first. For a server on
    PostgreSQL: pg_restore its database, then --blocks-only."""
    from server.entry import admin

    admin.restore(_data(data), source, force=force, blocks_only=blocks_only, note=output.note)


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
    from server.entry import admin

    seconds = duration_seconds(grace, "--grace")
    with _flags():
        admin.gc(_data(data), grace_seconds=seconds, db=db, blocks=blocks, note=output.note)


@app.command("du", rich_help_panel=ON_THE_MACHINE)
def du(data: DataDir = None, as_json: AsJson = False, db: DatabaseUrl = None) -> None:
    """Where the server's disk goes: database, blocks by owner, old versions, attachments,
    what awaits a commit or garbage collection, free space. Read-only: safe while the server
    runs."""
    from server.entry import admin

    with _flags():
        report = admin.du(_data(data), db=db)
    if as_json:
        output.print_json(report)
        return
    _print_usage(report)


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
