"""One output object: data on stdout (JSON with --json), notes and errors on stderr.

Both consoles show whatever they print through `client.display`: a control character in
someone's post, name or file name reaches the terminal as a visible stand-in, never as a
command to it, and no text is read as markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from client import display
from protocol.sizes import format_size

if TYPE_CHECKING:
    from cli.console import SafeConsole


def __getattr__(name: str) -> SafeConsole:
    """`stdout` and `stderr`, made on first use: rich costs ~20 ms to import, which a command
    that prints only JSON or nothing never pays (cli/console.py)."""
    if name not in ("stdout", "stderr"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from cli.console import SafeConsole

    console = SafeConsole(stderr=name == "stderr")
    globals()[name] = console
    return console


def print_json(value: Any) -> None:
    """One JSON document on stdout (structs, lists, dicts; datetimes as RFC 3339)."""
    print(display.json_text(msgspec.json.encode(value).decode()))


def note(message: str) -> None:
    stderr: SafeConsole = globals().get("stderr") or __getattr__("stderr")
    stderr.print(message, markup=False)


def line(text: str) -> str:
    """A name or a path inside a line of output: on that one line (a newline shows as ␊)."""
    return display.clean(text)


def queued(
    op: str, client_id: str, as_json: bool, local_id: str | None = None, why: str | None = None
) -> None:
    """`why`: the server's reason when it answered but could not serve (else: unreachable)."""
    reason = why.split(";")[0].strip() if why else "the server is unreachable"
    note(f"queued: {reason}; {op} will be sent on the next connection")
    if local_id is not None:
        note(f"until then, refer to it as {local_id}")
    if as_json:
        extra = {"local_id": local_id} if local_id is not None else {}
        print_json({"queued": True, "op": op, "client_id": client_id, **extra})


def offline(cached_at: int | None) -> None:
    when = (
        datetime.fromtimestamp(cached_at / 1000).strftime("%Y-%m-%d %H:%M")
        if cached_at
        else "earlier"
    )
    note(f"offline: showing what was cached at {when}")


def when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"


def size(n: int) -> str:
    """A byte count as people read it: 812 B, 1.4 MiB."""
    return format_size(n)
