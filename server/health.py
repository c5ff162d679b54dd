"""`GET /healthz`: whether this server can serve right now, for a load balancer, a container
runtime or a monitor. 200 with a small JSON body while it can; 503 with the reason when it
cannot (the database does not answer a cheap read in time, or the server is shutting down).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata

import msgspec

DATABASE_TIMEOUT = 2.0  # seconds: a monitor's own timeout is usually a few seconds more


@dataclass(frozen=True)
class Health:
    ok: bool
    body: bytes  # JSON


@cache
def roost_version() -> str:
    try:
        return metadata.version("roost")
    except metadata.PackageNotFoundError:
        return "unknown"


async def database_problem(
    read: Callable[[], Awaitable[object]], timeout: float = DATABASE_TIMEOUT
) -> str | None:
    """None if `read` (a real, cheap query) answers within `timeout`, else what went wrong."""
    try:
        await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        return f"database did not answer within {timeout:g} s"
    except Exception as exc:  # closed, locked, unreadable, ...: the monitor needs only why
        return f"database unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
    return None


def report(
    *, started: float, closing: bool, database: str | None, bus: str | None = None
) -> Health:
    """The page for a server started at `started` (time.time()), given its database's state
    and, for one of several processes (`--bus`), its bus's: "ok" or what is wrong. Without
    the bus a process still serves its own connections, so it stays 200."""
    reason = "server is shutting down" if closing else database
    body: dict[str, object] = {
        "status": "ok" if reason is None else "unavailable",
        "version": roost_version(),
        "uptime_s": round(time.time() - started, 1),
        "database": "ok" if database is None else "unavailable",
    }
    if bus is not None:
        body["bus"] = "ok" if bus == "ok" else "unavailable"
        if bus != "ok":
            body["bus_reason"] = bus
    if reason is not None:
        body["reason"] = reason
    return Health(reason is None, msgspec.json.encode(body))
