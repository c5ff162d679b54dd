"""admin: operator commands run on the server machine (backup and restore)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import platformdirs
import typer

from cli import output
from storage import backup as backups

app = typer.Typer(help="Operate a server: backup and restore.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data", help="The server's data folder (as given to roost serve --data)."),
]


def _data(data: Path | None) -> Path:
    return data or Path(platformdirs.user_data_dir("roost-server"))


@app.command("backup")
def backup(dest: Path, data: DataDir = None) -> None:
    """Back up the server's data into DEST (a new folder); safe while the server runs."""
    report = backups.backup(_data(data), dest)
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
