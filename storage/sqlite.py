"""SQLite, the default engine: one database file in the data folder, opened by one process.

Each connection lives on a thread of its own (sqlite3 calls block); a statement and the fetch
of all its rows run there in one hop. Writes go through `write()`, which serialises them behind
an asyncio lock and wraps them in `BEGIN IMMEDIATE ... COMMIT`, so a transaction's statements
are never interleaved with another coroutine's. `transaction_on_thread()` runs a whole
transaction in one hop (for batched hot paths). Reads use a second connection, which under WAL
sees only committed data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from storage.database import Cursor, Migration, now_ms
from storage.errors import MigrationError, StorageError, UniqueViolation

log = logging.getLogger("roost.storage")

T = TypeVar("T")

# Past this, the WAL is checkpointed whole and started over with writers held back (see
# SqliteDatabase._restart_wal).
WAL_LIMIT = 32 << 20
WAL_FRAME_HEADER = 24  # bytes before each page in the WAL


class SqliteConnection:
    """One sqlite3 connection on its own thread. Calls run there one at a time, in the order
    made; a call runs to its end even if the coroutine awaiting it is cancelled (a BEGIN or a
    COMMIT is never left half-done by a cancel)."""

    engine = "sqlite"

    def __init__(self, path: str, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous
        self._calls: queue.SimpleQueue[
            tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="roost-sqlite", daemon=True)
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> SqliteConnection:
        self._thread.start()
        self._conn = await self._call(self._connect)
        return self

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
        conn = sqlite3.connect(self._path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        # FULL: an acked commit survives a crash of the process and of the machine.
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        return conn

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            future, fn, args = call
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the awaiting coroutine
                _settle(future, None, exc)
            else:
                _settle(future, result, None)

    def _call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls.put((future, fn, args))
        return future

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """`fn(sqlite3_connection, *args)` on this connection's thread, in order with its other
        calls; queued at once, so it runs even if nobody awaits it."""
        if self._conn is None:
            raise StorageError("database is not open")
        return self._call(fn, self._conn, *args)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Statement:
        return _Statement(self.run(_execute, sql, parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.run(_executemany, sql, list(rows))

    async def interrupt(self) -> None:
        """Stop the statement running now (sqlite3 allows this from any thread)."""
        if self._conn is not None:
            self._conn.interrupt()

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._call(conn.close)
        if self._thread.is_alive():
            self._calls.put(None)
            await asyncio.to_thread(self._thread.join)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    with contextlib.suppress(RuntimeError):  # the event loop closed meanwhile
        future.get_loop().call_soon_threadsafe(_settle_now, future, result, exc)


def _settle_now(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # the awaiting coroutine was cancelled
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class _Statement:
    """`await conn.execute(...)` or `async with conn.execute(...) as cur`."""

    __slots__ = ("_pending",)

    def __init__(self, pending: Any) -> None:
        self._pending = pending

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._pending.__await__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> Cursor:
        cursor: Cursor = await self._pending
        return cursor

    async def __aexit__(self, *exc: object) -> None:
        pass


def _execute(conn: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> Cursor:
    try:
        cursor = conn.execute(sql, parameters)
    except sqlite3.IntegrityError as exc:
        raise _translated(exc) from exc
    try:
        rows = cursor.fetchall()
        return Cursor(rows, len(rows) if cursor.description is not None else cursor.rowcount)
    finally:
        cursor.close()


def _executemany(conn: sqlite3.Connection, sql: str, rows: list[Sequence[Any]]) -> None:
    try:
        conn.executemany(sql, rows)
    except sqlite3.IntegrityError as exc:
        raise _translated(exc) from exc


def _translated(exc: sqlite3.IntegrityError) -> Exception:
    return UniqueViolation(str(exc)) if "UNIQUE" in str(exc) else exc


class SqliteDatabase:
    engine = "sqlite"

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
        self._writer: SqliteConnection | None = None
        self._reader: SqliteConnection | None = None
        self._write_lock = asyncio.Lock()
        # With checkpoint_every, WAL checkpoints run on their own connection every so many
        # seconds instead of inside whichever commit crosses 1,000 WAL pages: a commit that
        # writes many rows (a post fanned out to 1,000 timelines) then costs its own pages
        # and one fsync, not a copy of the whole WAL into the database file and a second fsync.
        self._checkpoint_every = checkpoint_every
        self._wal_limit = wal_limit
        self._frame_bytes = 4096 + WAL_FRAME_HEADER  # set from the page size on open
        self._checkpointer: SqliteConnection | None = None
        self._checkpoints: asyncio.Task[None] | None = None

    async def open(self) -> SqliteDatabase:
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

    async def _connect(self) -> SqliteConnection:
        conn = SqliteConnection(str(self.path), self._synchronous)
        try:
            return await conn.open()
        except BaseException:
            await conn.close()
            raise

    @property
    def reader(self) -> SqliteConnection:
        if self._reader is None:
            raise StorageError("database is not open")
        return self._reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqliteConnection]:
        """One write transaction; committed when the block exits, rolled back if it raises."""
        if self._writer is None:
            raise StorageError("database is not open")
        async with self._write_lock:
            conn = self._writer
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                # The BEGIN runs all the same: without this, the transaction it opens would
                # outlive the lock, and the next writer's BEGIN fail.
                conn.execute("ROLLBACK")
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

    async def transaction_on_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One write transaction run whole on the writer's thread: `work` gets the plain
        sqlite3 connection and runs between BEGIN IMMEDIATE and COMMIT (rolled back if it
        raises). One thread hop for the whole transaction, where `write()` costs one per
        statement: a group commit of a dozen statements waited a dozen times for its thread,
        and for the event loop, to be scheduled again."""
        if self._writer is None:
            raise StorageError("database is not open")
        async with self._write_lock:
            return await self._writer.run(_transaction, work)

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


async def migrate(conn: SqliteConnection, migrations: Sequence[Migration]) -> int:
    """Bring the schema up to the newest migration; returns the version now on disk."""
    return await conn.run(_migrate, migrations)


def _migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    current = int(row[0]) if row else 0
    newest = max((m.version for m in migrations), default=0)
    if current > newest:
        raise MigrationError(
            f"database schema is version {current}, newer than this Roost ({newest}); upgrade Roost"
        )
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sql):
                conn.execute(statement)
            if migration.then is not None:
                migration.then(conn)
            conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, now_ms()),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(f"migration {migration.version} failed: {exc}") from exc
        except BaseException:
            conn.execute("ROLLBACK")
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
