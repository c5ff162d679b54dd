"""An SQLite database opened for one asyncio process: one writer, one reader, migrations.

Writes go through `write()`, which serialises them behind an asyncio lock and wraps them in
`BEGIN IMMEDIATE ... COMMIT`, so a transaction's statements are never interleaved with another
coroutine's. `write_in_thread()` runs a whole transaction on the writer's thread in one hop
(for batched hot paths). Reads use a second connection, which under WAL sees only committed
data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from aiosqlite.context import Result

from storage.errors import Duplicate, MigrationError, StorageError

log = logging.getLogger("roost.storage")

T = TypeVar("T")

# Past this, the WAL is checkpointed whole and started over with writers held back (see
# Database._restart_wal).
WAL_LIMIT = 32 << 20
WAL_FRAME_HEADER = 24  # bytes before each page in the WAL


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str
    # A data step the SQL cannot express, run after it in the same transaction on the plain
    # sqlite3 connection (e.g. repairing values by a rule written in Python).
    then: Callable[[sqlite3.Connection], None] | None = None
    # The statements for PostgreSQL, where they differ from `sql` (None: the same text).
    postgres: str | None = None


class Database:
    def __init__(
        self,
        path: Path,
        migrations: Sequence[Migration],
        *,
        synchronous: str = "FULL",
        checkpoint_every: float | None = None,
        wal_limit: int = WAL_LIMIT,
    ):
        self.path = path
        self._migrations = migrations
        self._synchronous = synchronous
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        # With checkpoint_every, WAL checkpoints run on their own connection every so many
        # seconds instead of inside whichever commit crosses 1,000 WAL pages: a commit that
        # writes many rows (a post fanned out to 1,000 timelines) then costs its own pages
        # and one fsync, not a copy of the whole WAL into the database file and a second fsync.
        self._checkpoint_every = checkpoint_every
        self._wal_limit = wal_limit
        self._frame_bytes = 4096 + WAL_FRAME_HEADER  # set from the page size on open
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoints: asyncio.Task[None] | None = None

    async def open(self) -> Database:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await self._connect()
            await self._writer.execute("PRAGMA journal_mode=WAL")
            await migrate(self._writer, self._migrations)
            self._reader = await self._connect()
            if self._checkpoint_every is not None:
                await self._writer.execute("PRAGMA wal_autocheckpoint=0")
                # When the writer starts the WAL over, it cuts a longer file back to this.
                await self._writer.execute(f"PRAGMA journal_size_limit={self._wal_limit}")
                async with self._writer.execute("PRAGMA page_size") as cur:
                    page = await cur.fetchone()
                if page is not None:
                    self._frame_bytes = int(page[0]) + WAL_FRAME_HEADER
                self._checkpointer = await self._connect()
                self._checkpoints = asyncio.create_task(self._checkpoint_forever())
        except sqlite3.Error as exc:
            await self.close()
            raise StorageError(f"cannot open database {self.path}: {exc}") from exc
        except BaseException:
            await self.close()
            raise
        return self

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
        path = str(self.path)
        conn = await _FetchingConnection(lambda: sqlite3.connect(path, isolation_level=None), 64)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        # FULL: an acked commit survives a crash of the process and of the machine.
        await conn.execute(f"PRAGMA synchronous={self._synchronous}")
        return conn

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StorageError("database is not open")
        return self._reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; committed when the block exits, rolled back if it raises."""
        if self._writer is None:
            raise StorageError("database is not open")
        async with self._write_lock:
            conn = self._writer
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                # The statement runs on the writer's thread all the same: without this, the
                # transaction it opens would outlive the lock, and the next writer's BEGIN fail.
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
                raise
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            try:
                await conn.execute("COMMIT")
            except sqlite3.Error as exc:
                await conn.execute("ROLLBACK")
                raise StorageError(f"commit failed: {exc}") from exc

    async def write_in_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One write transaction run whole on the writer's thread: `work` gets the plain
        sqlite3 connection and runs between BEGIN IMMEDIATE and COMMIT (rolled back if it
        raises). One thread hop for the whole transaction, where `write()` costs one per
        statement (three per query): a group commit of a dozen statements waited a dozen times
        for its thread, and for the event loop, to be scheduled again."""
        if self._writer is None:
            raise StorageError("database is not open")
        async with self._write_lock:
            return await on_thread(self._writer, _transaction, work)

    async def _checkpoint_forever(self) -> None:
        assert self._checkpoint_every is not None and self._checkpointer is not None
        while True:
            await asyncio.sleep(self._checkpoint_every)
            try:  # PASSIVE: copies what it can without waiting for (or blocking) anyone
                async with self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)") as cur:
                    row = await cur.fetchone()  # busy, frames in the WAL, frames copied
                if row is not None and row[1] * self._frame_bytes > self._wal_limit:
                    await self._restart_wal()
            except sqlite3.Error as exc:
                log.warning("WAL checkpoint failed: %s", exc)

    async def _restart_wal(self) -> None:
        """A WAL starts over from its beginning only when a writer finds it wholly copied into
        the database. Under constant writes a passive checkpoint never catches up with the
        commits made while it runs, so the WAL grew without end (100 MB in 4 s of back-to-back
        commits on this machine), and with it the WAL index that every connection maps into
        memory. Holding writers back lets one checkpoint copy the rest; the next commit then
        writes from the start of the file again. Not TRUNCATE: a WAL emptied grows again block
        by block, and each commit's fsync then also waits for the filesystem to record the new
        size (under bench/load.py, writes held back up to 360 ms)."""
        assert self._checkpointer is not None
        async with self._write_lock:
            await self._checkpointer.execute("PRAGMA wal_checkpoint(RESTART)")

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            await asyncio.gather(self._checkpoints, return_exceptions=True)
            self._checkpoints = None
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = self._checkpointer = None


class FetchedCursor:
    """A cursor whose rows were all fetched in the same thread hop that ran the statement."""

    __slots__ = ("_at", "_rows", "lastrowid", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

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

    async def close(self) -> None:
        pass

    def __aiter__(self) -> FetchedCursor:
        return self

    async def __anext__(self) -> Any:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def __aenter__(self) -> FetchedCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


class _FetchingConnection(aiosqlite.Connection):
    """`execute` runs the statement and fetches its rows in one hop to the connection's thread.
    aiosqlite takes three (execute, fetch, close), each 20-30 µs and, on a busy machine, a wait
    for two threads to be scheduled: a write transaction holds the write lock that much longer.
    Every query here reads a bounded page, so fetching all rows at once costs no extra memory."""

    def execute(  # type: ignore[override]
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> Result[FetchedCursor]:
        return Result(on_thread(self, _execute_fetching, sql, parameters or ()))


def _execute_fetching(conn: sqlite3.Connection, sql: str, parameters: Any) -> FetchedCursor:
    cursor = conn.execute(sql, parameters)
    try:
        return FetchedCursor(cursor.fetchall(), cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


async def on_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(sqlite3_connection, *args)` on `conn`'s own thread, in order with its other
    calls. aiosqlite has no public form of this; its `_execute` is what `execute` itself uses."""
    result: T = await conn._execute(fn, conn._conn, *args)  # type: ignore[no-untyped-call]
    return result


def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise StorageError(f"commit failed: {exc}") from exc
    return result


async def migrate(conn: aiosqlite.Connection, migrations: Sequence[Migration]) -> int:
    """Bring the schema up to the newest migration; returns the version now on disk."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    async with conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    newest = max((m.version for m in migrations), default=0)
    if current > newest:
        raise MigrationError(
            f"database schema is version {current}, newer than this Roost ({newest}); upgrade Roost"
        )
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version <= current:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sql):
                await conn.execute(statement)
            if migration.then is not None:
                await on_thread(conn, migration.then)
            await conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, now_ms()),
            )
            await conn.execute("COMMIT")
        except sqlite3.Error as exc:
            await conn.execute("ROLLBACK")
            raise MigrationError(f"migration {migration.version} failed: {exc}") from exc
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        current = migration.version
    return current


def _statements(sql: str) -> list[str]:
    """Split a script into statements; a trigger's `BEGIN ...; END` stays one statement."""
    out: list[str] = []
    current = ""
    for piece in sql.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                out.append(current.strip().removesuffix(";").strip())
            current = ""
    if current.strip(" \n;"):
        out.append(current.strip().removesuffix(";").strip())
    return out


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def is_unique_violation(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


__all__ = ["Database", "Duplicate", "Migration", "is_unique_violation", "migrate", "now_ms"]
