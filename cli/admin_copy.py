"""roost admin copy --to postgresql://…: a stopped server's SQLite database into an empty
PostgreSQL database (server/entry/admin.py), then a table of the rows copied."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import output
from cli.options import AsJson

ON_THE_MACHINE = "On the server machine (its data folder; no login needed)"


def copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="URL",
            help="An empty PostgreSQL database: postgresql://USER@HOST:PORT/DB (a password"
            " from PGPASSWORD or ~/.pgpass).",
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="The server's data folder (as given to roost serve --data)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Copy the whole server database into an empty PostgreSQL database and check every
    table's row count; then run roost serve --db URL --data with the same folder (its blocks
    stay there). Stop the server first."""
    from server.entry import BadSetting, admin, default_data_dir

    folder = data.expanduser() if data else default_data_dir()
    try:
        report = admin.copy(folder, to)
    except BadSetting as exc:
        raise typer.BadParameter(exc.message, param_hint=exc.flag) from None
    if as_json:
        output.print_json(
            {
                "to": report.target,
                "schema_version": report.schema_version,
                "tables": {t.name: t.rows for t in report.tables},
                "rows": report.rows,
                "skipped": report.skipped,
            }
        )
    else:
        table = Table("table", "rows", box=None, pad_edge=False)
        for t in report.tables:
            table.add_row(t.name, str(t.rows))
        output.stdout.print(table)
    output.note(
        f"copied {report.rows} rows in {len(report.tables)} tables to {report.target}"
        f" (schema {report.schema_version}); every table's count matches. Serve it with:"
        f" roost serve --db URL --data {folder}"
    )


def register(app: typer.Typer) -> None:
    app.command("copy", rich_help_panel=ON_THE_MACHINE)(copy)
