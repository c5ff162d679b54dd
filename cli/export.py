"""roost export: your own data in one zip archive."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli import output
from cli.options import AsJson
from cli.session import with_client
from client.core import RoostClient
from client.export import Exporter, ExportSummary, archive_name


def export(
    out: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="Where to write the zip; default roost-export-USER-DATE.zip here.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Your profile, posts, the messages you can read, your files with every version (JSON)
    and your files' current bytes, in one zip archive. Needs the server."""

    async def body(client: RoostClient) -> ExportSummary:
        me = client.home.require_account().username
        dest = out if out is not None else Path(archive_name(me, datetime.now()))
        return await Exporter(client).write(dest.absolute())

    summary = with_client(body)
    if as_json:
        output.print_json(summary)
        return
    output.stdout.print(summary.path, markup=False)
    output.note(
        f"exported {summary.posts} posts, {summary.messages} messages in"
        f" {summary.conversations} conversations, {summary.files} files"
        f" ({output.size(summary.bytes)}; {summary.versions} versions)"
    )
