"""admin: operator commands run on the server machine (backup, restore, gc)."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Annotated

import platformdirs
import typer

from cli import admin_accounts, output
from protocol.sizes import format_size
from storage import backup as backups
from storage import space
from storage.blocks import LocalBlockStore
from storage.database import Database, now_ms
from storage.errors import StorageError
from storage.expiry import Expired, expire
from storage.server_schema import MIGRATIONS

app = typer.Typer(
    help="Operate a server: backup, restore, garbage collection.", no_args_is_help=True
)
admin_accounts.register(app)

DataDir = Annotated[
    Path | None,
    typer.Option("--data", help="The server's data folder (as given to roost serve --data)."),
]


def _data(data: Path | None) -> Path:
    return data or Path(platformdirs.user_data_dir("roost-server"))


@app.command("backup")
def backup(dest: Path, data: DataDir = None) -> None:
    """Back up the server's data into DEST (a new folder); safe while the server runs."""
    folder = _data(data)
    report = backups.backup(
        folder,
        dest,
        waiting=partial(output.note, f"waiting for a garbage collection of {folder} to end"),
    )
    output.note(
        f"backed up to {dest}: database {report.database_bytes} bytes"
        f" (schema {report.schema_version}), {report.block_files} block files"
    )


@app.command("restore")
def restore(
    source: Path,
    data: DataDir = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing database.")] = False,
) -> None:
    """Restore a backup into the data folder. Stop the server first."""
    report = backups.restore(source, _data(data), force=force)
    output.note(
        f"restored {source}: schema {report.schema_version}, {report.block_files} block files;"
        " start the server with roost serve"
    )


@app.command("gc")
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
) -> None:
    """Forget uploads, staged lists and idempotency keys past their age, then delete file
    blocks nothing refers to any more; safe while the server runs (a backup running now is
    waited for)."""
    folder = _data(data)
    if not (folder / backups.DATABASE).exists():
        raise StorageError(f"no Roost database in {folder}")
    seconds = _duration(grace)
    # Not during a backup: blocks its database snapshot names must stay until it copied them.
    waiting = partial(output.note, f"waiting for a backup of {folder} to end")
    with backups.maintenance(folder, exclusive=True, waiting=waiting):
        expired, found = asyncio.run(_collect(folder, seconds))
    if expired:
        output.note(
            f"forgot {expired.uploads} upload(s) and {expired.staged} staged block(s) never"
            f" committed, {expired.idempotency_keys} idempotency key(s) past their age"
        )
    output.note(f"freed {found.blocks} block(s), {format_size(found.bytes)} on disk")


async def _collect(folder: Path, grace_seconds: float) -> tuple[Expired, space.Collected]:
    """Expired records, then unreferenced blocks (with any upload records they still have)."""
    db = await Database(folder / backups.DATABASE, MIGRATIONS).open()
    try:
        expired = await expire(db, now_ms())
        store = LocalBlockStore(folder / backups.BLOCKS)
        return expired, await space.collect_garbage(db, store, grace_seconds=grace_seconds)
    finally:
        await db.close()


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> float:
    number, unit = text[:-1], text[-1:]
    if unit.isdigit():
        number, unit = text, "s"
    try:
        value = float(number) * _UNITS[unit]
    except (KeyError, ValueError):
        raise typer.BadParameter(
            f"{text!r}: write e.g. 30s, 10m, 24h", param_hint="--grace"
        ) from None
    if not 0 <= value < 10**9:
        raise typer.BadParameter(f"{text!r} is out of range", param_hint="--grace")
    return value
