"""The storage seam: what repositories and the server see of a database, whatever its engine.

A `Database` hands out two kinds of `Handle`: its `reader` (committed data only) and, inside
`async with db.write() as tx:`, one write transaction (committed when the block exits, rolled
back if it raises). Repositories take a handle and write their SQL with `?` placeholders in the
subset both engines speak; an engine translates what it must. Engines: `storage/sqlite.py` (the
default, in the data folder) and `storage/postgres.py`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from storage.errors import Duplicate, UniqueViolation


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str
    # A data step the SQL cannot express, run after it in the same transaction on SQLite's
    # plain connection (e.g. repairing values by a rule written in Python).
    then: Callable[[sqlite3.Connection], None] | None = None
    # The statements for PostgreSQL, where they differ from `sql` (None: the same text).
    postgres: str | None = None


class Cursor:
    """A statement's result, fetched whole when the statement ran (every query reads a bounded
    page). `rowcount`: rows changed by INSERT/UPDATE/DELETE, rows returned by a SELECT."""

    __slots__ = ("_at", "_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount

    async def fetchone(self) -> Any:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    async def fetchall(self) -> list[Any]:
        rows, self._at = self._rows[self._at :], len(self._rows)
        return rows

    async def fetchmany(self, size: int = 1) -> list[Any]:
        rows = self._rows[self._at : self._at + size]
        self._at += len(rows)
        return rows

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


class Statement(Protocol):
    """What `Handle.execute` returns: await it, or use it as `async with ... as cur`."""

    def __await__(self) -> Generator[Any, None, Cursor]: ...

    async def __aenter__(self) -> Cursor: ...

    async def __aexit__(self, *exc: object) -> None: ...


class Handle(Protocol):
    """A reader or one write transaction."""

    engine: str  # "sqlite" or "postgresql", for the few statements the engines spell apart

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Statement: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class Database(Protocol):
    @property
    def engine(self) -> str:
        """ "sqlite" or "postgresql"."""
        ...

    @property
    def reader(self) -> Handle: ...

    def write(self) -> AbstractAsyncContextManager[Handle]: ...

    async def open(self) -> Database: ...

    async def close(self) -> None: ...


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def marks(values: Sequence[object]) -> str:
    """`?, ?, ?`: one placeholder per value, for `IN (...)`."""
    return ", ".join("?" * len(values))


__all__ = [
    "Cursor",
    "Database",
    "Duplicate",
    "Handle",
    "Migration",
    "Statement",
    "UniqueViolation",
    "marks",
    "now_ms",
]
