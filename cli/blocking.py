"""`roost block`, `unblock`, `mute`, `unmute`, `blocks` and `mutes`: the caller's own private
lists. A blocked or muted person is never told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from cli import output
from cli.options import AsJson
from cli.social import _read, _write
from client.social import Social
from protocol import blocking as wire

User = Annotated[str, typer.Argument(help="A username.")]


def _change(body: Callable[[Social], Any], op: str, done: str, as_json: bool) -> None:
    _write(body, op, as_json, lambda r: output.note(f"{done} @{output.line(r.username)}"))


def block(username: User, as_json: AsJson = False) -> None:
    """Block a user: they cannot message or follow you, and you stop seeing them.

    Any follow between you ends, both ways. They are not told.
    """
    _change(lambda s: s.block(username), "block.add", "blocked", as_json)


def unblock(username: User, as_json: AsJson = False) -> None:
    """Unblock a user (follows that the block ended do not come back)."""
    _change(lambda s: s.unblock(username), "block.remove", "unblocked", as_json)


def mute(username: User, as_json: AsJson = False) -> None:
    """Mute a user: their posts, replies and notifications stop showing; messages still come.

    They are not told.
    """
    _change(lambda s: s.mute(username), "mute.add", "muted", as_json)


def unmute(username: User, as_json: AsJson = False) -> None:
    """Unmute a user."""
    _change(lambda s: s.unmute(username), "mute.remove", "unmuted", as_json)


def _print(result: wire.ListedUsers, as_json: bool, empty: str, since: str) -> None:
    if as_json:
        output.print_json({"users": result.users})
        return
    if not result.users:
        output.note(empty)
        return
    rows = [[f"@{u.username}", u.display_name, output.when(u.since)] for u in result.users]
    output.table(["user", "name", since], rows)


def blocks(as_json: AsJson = False) -> None:
    """Whom you blocked (only you can see this list)."""
    _print(_read(lambda s: s.blocked()), as_json, "you have not blocked anyone", "blocked")


def mutes(as_json: AsJson = False) -> None:
    """Whom you muted (only you can see this list)."""
    _print(_read(lambda s: s.muted()), as_json, "you have not muted anyone", "muted")


COMMANDS: list[Callable[..., None]] = [block, unblock, mute, unmute, blocks, mutes]


def register(app: typer.Typer) -> None:
    for command in COMMANDS:
        app.command()(command)
