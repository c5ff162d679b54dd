"""Options shared by several commands, as Annotated aliases."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from client.home import DEFAULT_SERVER

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Force = Annotated[bool, typer.Option("--force", "-f", help="Replace a file already there.")]
ServerUrl = Annotated[
    str,
    typer.Option(
        "--server",
        help="Server address: ws://, wss://, http:// (as ws), https:// (as wss) or a bare"
        " HOST:PORT; ROOST_SERVER sets the default.",
    ),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def default_server(given: str = "") -> str:
    """The server to use: --server, else ROOST_SERVER, else the local default; as the
    ws:// or wss:// URL it means (a bad address is one line naming the forms that work)."""
    from client.server_url import server_url

    return server_url(given or os.environ.get("ROOST_SERVER", DEFAULT_SERVER))


CaFile = Annotated[
    str,
    typer.Option(
        "--ca",
        help="CA certificate (PEM) to trust for a wss:// server with its own certificate;"
        " ROOST_CA sets the default. Remembered for this home.",
    ),
]


def ca_path(given: str) -> str | None:
    """The CA file to use, as an absolute path (it is saved in the home's config)."""
    chosen = given or os.environ.get("ROOST_CA", "")
    return os.path.abspath(chosen) if chosen else None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str, flag: str) -> float:
    """A duration as people write it (30s, 10m, 24h, 7d; a bare number is seconds)."""
    text = text.strip()
    number, unit = text[:-1], text[-1:].lower()
    if unit.isdigit():
        number, unit = text, "s"
    try:
        value = float(number) * _UNITS[unit]
    except (KeyError, ValueError):
        raise typer.BadParameter(
            f"{text!r}: write e.g. 30s, 10m, 24h, 7d", param_hint=flag
        ) from None
    if not 0 <= value < 10**9:  # also refuses nan
        raise typer.BadParameter(f"{text!r} is out of range", param_hint=flag)
    return value
