"""Options shared by several commands, as Annotated aliases."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from client.home import DEFAULT_SERVER

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ServerUrl = Annotated[
    str,
    typer.Option("--server", help="Server URL (ws:// or wss://); ROOST_SERVER sets the default."),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def default_server() -> str:
    return os.environ.get("ROOST_SERVER", DEFAULT_SERVER)
