"""roost serve: run the server in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import platformdirs
import typer

from cli import output


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 7447,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Folder for the database (and blocks); default: the platform data folder.",
        ),
    ] = None,
    celebrity_threshold: Annotated[
        int,
        typer.Option(
            "--celebrity-threshold",
            min=0,
            help="Authors with more followers than this are merged into timelines at read time"
            " instead of being copied into each follower's timeline.",
        ),
    ] = 10_000,
) -> None:
    """Run a Roost server."""
    # The server is imported here so client-only commands never load it.
    from server.app import run
    from server.config import ServerConfig

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = ServerConfig(
        data_dir=data or Path(platformdirs.user_data_dir("roost-server")),
        host=host,
        port=port,
        celebrity_threshold=celebrity_threshold,
    )
    asyncio.run(
        run(
            config,
            on_ready=lambda s: output.note(
                f"Roost listening on ws://{config.host}:{s.port} (data in {config.data_dir})"
            ),
        )
    )
