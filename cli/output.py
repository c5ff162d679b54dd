"""One output object: data on stdout (JSON with --json), notes and errors on stderr.

Both consoles show whatever they print through `client.display`: a control character in
someone's post, name or file name reaches the terminal as a visible stand-in, never as a
command to it, and no text is read as markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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


def _console(name: str) -> SafeConsole:
    """`stdout` or `stderr` from inside this module, where the module's __getattr__ is not
    consulted: the one already made, else made now."""
    made: SafeConsole | None = globals().get(name)
    return made if made is not None else __getattr__(name)


def print_json(value: Any) -> None:
    """One JSON document on stdout (structs, lists, dicts; datetimes as RFC 3339)."""
    print(display.json_text(msgspec.json.encode(value).decode()))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Rows on stdout: a table on a terminal (cells wrap, never cut off); when stdout is a pipe
    or a file, plain lines of tab-separated cells under one header line, for cut and awk. A
    tab or newline inside a cell shows as ␉ or ␊, so each row stays one line of cells."""
    stdout = _console("stdout")
    if not stdout.is_terminal:
        for cells in (headers, *rows):
            print("\t".join(display.clean(cell) for cell in cells))
        return
    from rich.table import Table  # only a terminal needs it

    cleaned = [[display.clean(cell) for cell in cells] for cells in rows]
    shown = Table()
    for i, header in enumerate(headers):
        column = [cells[i] for cells in cleaned if i < len(cells)]
        if column and all(_ID_CELL.fullmatch(cell) for cell in column):
            # An id keeps its line whole, so it can be copied; other columns wrap instead.
            width = max(len(header), *(len(cell) for cell in column))
            shown.add_column(header, no_wrap=True, min_width=width)
        else:
            shown.add_column(header, overflow="fold")
    for cells in cleaned:
        shown.add_row(*cells)
    stdout.print(shown)


_ID_CELL = re.compile(r"#?[0-9a-f]*")


def numbered(rows: Iterable[Sequence[str]]) -> list[list[str]]:
    """Each row with its `#N` first: what commands that take an id accept for that row."""
    return [[f"#{i}", *cells] for i, cells in enumerate(rows, 1)]


def note(message: str) -> None:
    _console("stderr").print(message, markup=False)


def line(text: str) -> str:
    """A name or a path inside a line of output: on that one line (a newline shows as ␊)."""
    return display.clean(text)


def queued(
    op: str, client_id: str, as_json: bool, local_id: str | None = None, why: str | None = None
) -> None:
    """`why`: the server's reason when it answered but could not serve (else: unreachable)."""
    reason = why.split(";")[0].strip() if why else "the server is unreachable"
    note(f"queued: {reason}; it will be sent on the next connection (roost outbox lists it)")
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


def count(n: int, noun: str, plural: str | None = None) -> str:
    """A count in English: 1 follower, 2 followers, 0 followers."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def size(n: int) -> str:
    """A byte count as people read it: 812 B, 1.4 MiB."""
    return format_size(n)
