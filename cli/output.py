"""One output object: data on stdout (JSON with --json), notes and errors on stderr."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from rich.console import Console

from protocol.sizes import format_size

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """One JSON document on stdout (structs, lists, dicts; datetimes as RFC 3339)."""
    print(msgspec.json.encode(value).decode())


def note(message: str) -> None:
    stderr.print(message, markup=False)


def queued(op: str, client_id: str, as_json: bool, local_id: str | None = None) -> None:
    note(f"queued: the server is unreachable; {op} will be sent on the next connection")
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
