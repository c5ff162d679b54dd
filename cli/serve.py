"""roost serve: run the server in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import platformdirs
import typer

from cli import output
from client.errors import ClientError

if TYPE_CHECKING:
    from server.app import RoostServer


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
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate (chain): serve wss://.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="PEM private key for --tls-cert.")
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
    from server.config import ServerConfig

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if (tls_cert is None) != (tls_key is None):
        raise ClientError("--tls-cert and --tls-key go together")
    config = ServerConfig(
        data_dir=data or Path(platformdirs.user_data_dir("roost-server")),
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        celebrity_threshold=celebrity_threshold,
    )
    from server.app import run

    def ready(server: RoostServer) -> None:
        output.note(
            f"Roost listening on {config.scheme}://{config.host}:{server.port}"
            f" (data in {config.data_dir})"
        )

    try:
        asyncio.run(run(config, on_ready=ready))
    except (OSError, ssl.SSLError) as exc:  # port taken, unreadable certificate, ...
        raise ClientError(f"cannot start the server: {exc}") from None
