"""A PostgreSQL database for one asyncio process, on asyncpg (chosen in docs/BENCHMARKS.md).

The same contract as the SQLite engine: a `reader` that sees committed data only (each
statement on any pooled connection, in autocommit) and `write()`, one transaction on one
connection, committed when the block exits and rolled back if it raises or is cancelled.
Repositories write `?` placeholders (numbered here once per text, storage/postgres_sql.py);
rows come back addressable by index and by column name; integers come back as int, never
Decimal; a unique-constraint failure raises `UniqueViolation`, a database that cannot be
reached `Unavailable` (storage/errors.py).

Unlike SQLite's single writer, transactions here run side by side at READ COMMITTED: a
read-then-write that must not race (the next seq of a conversation) takes its row's lock
(`UPDATE ... RETURNING`, or `SELECT ... FOR UPDATE`) in the statement that reads it. And
unlike SQLite, a statement that fails spoils its whole transaction: catching its error and
carrying on in the same transaction ends in `StorageError` at the latest on commit, nothing
written.

Migrations come from the same numbered list as SQLite's; a migration's `postgres` text is run
where it has one. They run under an advisory lock, so two processes starting at once migrate
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from storage.database import Cursor, Migration, now_ms
from storage.errors import MigrationError, StorageError, Unavailable, UniqueViolation
from storage.postgres_sql import numbered_placeholders, rowcount

log = logging.getLogger("roost.storage")

T = TypeVar("T")

# pg_advisory_lock's key for "migrating Roost's schema": any constant no other tool uses
# ("RoostMig" as eight bytes).
MIGRATION_LOCK = 0x526F6F73744D6967
# Prepared statements asyncpg keeps per connection, and texts whose shape we remember: the
# repositories send a few hundred distinct texts (more with IN lists of varying length).
STATEMENTS_PER_CONNECTION = 1024
KNOWN_SHAPES = 8192
DEFAULT_PORT = 5432

# The server went away, is shutting down, will not take us now, or is full.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, timed out (TimeoutError is an OSError)
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)
# The server answered but will not let us in as named: no retry will help.
_REFUSED_LOGIN: tuple[type[BaseException], ...] = (
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
)


class PostgresDatabase:
    engine = "postgresql"

    def __init__(
        self,
        url: str,
        migrations: Sequence[Migration],
        *,
        pool_size: int = 10,
        connect_timeout: float = 10.0,
        statement_timeout: float | None = 60.0,
    ) -> None:
        self.url = url
        self.where = describe(url)
        self._migrations = migrations
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        # A statement that has no answer by then is given up (asyncpg cancels it) and reported
        # Unavailable: a server that stopped answering must not hold requests forever.
        self._statement_timeout = statement_timeout
        self._pool: asyncpg.Pool | None = None
        self._reader: Reader | None = None
        self._shapes = StatementShapes()

    async def open(self) -> PostgresDatabase:
        try:
            conn = await self._connect()
            try:
                await migrate(conn, self._migrations)
            finally:
                await conn.close()
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self._pool_size,
                timeout=self._connect_timeout,
                command_timeout=self._statement_timeout,
                statement_cache_size=STATEMENTS_PER_CONNECTION,
                init=_set_up_connection,
                reset=_rollback_if_open,
            )
        except _REFUSED_LOGIN as exc:
            await self.close()
            raise Unavailable(f"PostgreSQL at {self.where} refused us: {_reason(exc)}") from exc
        except _UNREACHABLE as exc:
            await self.close()
            raise Unavailable(f"cannot reach PostgreSQL at {self.where}: {_reason(exc)}") from exc
        except asyncpg.PostgresError as exc:
            await self.close()
            raise StorageError(f"cannot open PostgreSQL at {self.where}: {_reason(exc)}") from exc
        except BaseException:
            await self.close()
            raise
        self._reader = Reader(self._pool, self._shapes, self.where)
        return self

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.url, timeout=self._connect_timeout)
        await _set_up_connection(conn)
        return conn

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            raise StorageError("database is not open")
        return self._reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """One write transaction; committed when the block exits, rolled back if it raises."""
        if self._pool is None:
            raise StorageError("database is not open")
        pool = self._pool
        tx = await self._begin(pool)
        try:
            try:
                yield tx
            except BaseException:
                await tx.abandon()
                raise
            await tx.commit()
        finally:
            # Shielded inside asyncpg; its reset (_rollback_if_open) undoes a transaction a
            # cancel left open, and a connection it cannot reset is closed, never reused.
            await pool.release(tx.connection)

    async def _begin(self, pool: asyncpg.Pool) -> Transaction:
        """A connection in a new transaction. If the server restarted since the pool's
        connections were made, BEGIN finds its connection dead: nothing was done yet, so the
        pool's connections are renewed and BEGIN tried once more."""
        for attempt in (1, 2):
            conn = await _translated(self.where, pool.acquire())
            tx = Transaction(conn, self._shapes, self.where)
            try:
                await tx.begin()
                return tx
            except Unavailable:
                await pool.release(conn)
                if attempt == 2:
                    raise
                await pool.expire_connections()
            except BaseException:
                await pool.release(conn)
                raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        pool, self._pool, self._reader = self._pool, None, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except _UNREACHABLE:  # TimeoutError among them
                pool.terminate()


class StatementShapes:
    """Which SQL texts return rows, learnt once per text by preparing it: a statement that
    returns rows is fetched (its row count is the rows returned, RETURNING included), one that
    does not is executed for its command status (`UPDATE 3`). Both then run through asyncpg's
    own per-connection cache of prepared statements."""

    def __init__(self, limit: int = KNOWN_SHAPES) -> None:
        self._returns_rows: OrderedDict[str, bool] = OrderedDict()
        self._limit = limit

    async def run(self, conn: asyncpg.Connection, sql: str, parameters: Sequence[Any]) -> Cursor:
        text = numbered_placeholders(sql)
        if await self._returns_rows_for(conn, text):
            rows = await conn.fetch(text, *parameters)
            return Cursor(rows, len(rows))
        return Cursor([], rowcount(await conn.execute(text, *parameters)))

    async def _returns_rows_for(self, conn: asyncpg.Connection, text: str) -> bool:
        known = self._returns_rows.get(text)
        if known is None:
            prepared = await conn.prepare(text)
            known = bool(prepared.get_attributes())
            self._returns_rows[text] = known
            if len(self._returns_rows) > self._limit:
                self._returns_rows.popitem(last=False)
        return known


async def _set_up_connection(conn: asyncpg.Connection) -> None:
    # SUM() and AVG() of BIGINT give NUMERIC: hand those back as SQLite does, an int when whole
    # and a float otherwise, never a Decimal.
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=_number, format="text"
    )


def _number(text: str) -> int | float:
    # SUM of BIGINT has scale 0 ("12"); AVG has a fraction ("2.5000"), a float in SQLite too.
    return int(text) if text.lstrip("-").isdigit() else float(text)


async def _rollback_if_open(conn: asyncpg.Connection) -> None:
    """The pool's reset: Roost keeps no session state (no SET, LISTEN or held advisory lock),
    so only a transaction left open needs undoing. asyncpg's own reset would cost a round trip
    on every release (docs/BENCHMARKS.md)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class Statement:
    """What `execute` returns: `await` it for the cursor, or `async with ... as cur`."""

    __slots__ = ("_run",)

    def __init__(self, run: Coroutine[Any, Any, Cursor]) -> None:
        self._run = run

    def __await__(self) -> Any:
        return self._run.__await__()

    async def __aenter__(self) -> Cursor:
        return await self._run

    async def __aexit__(self, *exc: object) -> None:
        pass


class Reader:
    """Committed data only: each statement on whichever pooled connection is free, outside any
    transaction. A SELECT that finds its pooled connection dead (the server restarted since)
    is tried once more on a new one; nothing else is retried, nor a statement that timed out."""

    engine = "postgresql"

    def __init__(self, pool: asyncpg.Pool, shapes: StatementShapes, where: str) -> None:
        self._pool = pool
        self._shapes = shapes
        self._where = where

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Statement:
        return Statement(self._execute(sql, parameters))

    async def _execute(self, sql: str, parameters: Sequence[Any]) -> Cursor:
        try:
            return await self._on_a_connection(lambda c: self._shapes.run(c, sql, parameters))
        except Unavailable as exc:
            timed_out = isinstance(exc.__cause__, TimeoutError)
            if timed_out or sql.lstrip()[:6].upper() != "SELECT":
                raise
            await self._pool.expire_connections()  # the others are likely dead too
            return await self._on_a_connection(lambda c: self._shapes.run(c, sql, parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        text = numbered_placeholders(sql)
        # asyncpg runs the rows in one implicit transaction: all or none.
        await self._on_a_connection(lambda conn: conn.executemany(text, list(rows)))

    async def _on_a_connection(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        async def run() -> T:
            async with self._pool.acquire() as conn:
                return await work(conn)

        return await _translated(self._where, run())


class Transaction:
    """One write transaction on one connection. Its statements run one at a time, in the order
    they were asked for, even if several coroutines share the transaction."""

    engine = "postgresql"

    def __init__(self, conn: asyncpg.Connection, shapes: StatementShapes, where: str) -> None:
        self.connection = conn
        self._conn = conn
        self._shapes = shapes
        self._where = where
        self._lock = asyncio.Lock()
        self._open = False

    async def begin(self) -> None:
        await _translated(self._where, self._conn.execute("BEGIN"))
        self._open = True

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Statement:
        return Statement(self._execute(sql, parameters))

    async def _execute(self, sql: str, parameters: Sequence[Any]) -> Cursor:
        async with self._lock:
            self._check_open()
            return await _translated(self._where, self._shapes.run(self._conn, sql, parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        text = numbered_placeholders(sql)
        async with self._lock:
            self._check_open()
            await _translated(self._where, self._conn.executemany(text, list(rows)))

    def _check_open(self) -> None:
        if not self._open:
            raise StorageError("the write transaction is over; use a new db.write()")

    async def commit(self) -> None:
        # Unavailable here leaves it unknown whether the server committed: callers retry with
        # their idempotency key, as after any lost reply.
        async with self._lock:
            self._open = False
            status = await _translated(self._where, self._conn.execute("COMMIT"))
        if status == "ROLLBACK":
            # PostgreSQL ends a transaction in which a statement failed with a rollback, even
            # when the caller caught that statement's error and carried on (which SQLite would
            # have committed): say so rather than let the caller believe it committed.
            raise StorageError("the transaction was rolled back: a statement in it failed earlier")

    async def abandon(self) -> None:
        """Roll back after an error or a cancel. If even that fails, the connection is closed
        so that it never goes back to the pool inside a transaction."""
        self._open = False
        try:
            if self._conn.is_in_transaction():
                await self._conn.execute("ROLLBACK")
        except BaseException as exc:
            log.warning("rollback failed, dropping the connection: %r", exc)
            # (Already gone if the server closed it: asyncpg then released it itself.)
            with contextlib.suppress(asyncpg.InterfaceError):
                self._conn.terminate()
            if not isinstance(exc, Exception):
                raise


async def _translated(where: str, work: Awaitable[T]) -> T:
    """Run `work`, raising Roost's storage errors in place of asyncpg's."""
    try:
        return await work
    except asyncpg.UniqueViolationError as exc:
        raise UniqueViolation(exc.detail or str(exc)) from exc
    except _UNREACHABLE as exc:
        raise Unavailable(f"PostgreSQL at {where} is unavailable: {_reason(exc)}") from exc
    except asyncpg.PostgresError as exc:
        raise StorageError(str(exc)) from exc
    except asyncpg.InternalClientError as exc:
        # What asyncpg answers on a connection the server closed while it sat idle in the pool
        # ("cannot switch to state ...; another operation is in progress").
        raise Unavailable(f"PostgreSQL at {where} is unavailable: {exc}") from exc
    except asyncpg.InterfaceError as exc:
        # A connection that died under us answers "connection is closed", or, once asyncpg
        # has handed it back to its pool, "released back to the pool".
        if "closed" in str(exc) or "released" in str(exc):
            raise Unavailable(f"PostgreSQL at {where} is unavailable: {exc}") from exc
        raise StorageError(str(exc)) from exc


async def migrate(conn: asyncpg.Connection, migrations: Sequence[Migration]) -> int:
    """Bring the schema up to the newest migration; returns the version now in the database.
    Holds an advisory lock throughout, so a second process starting at the same moment waits
    and then finds nothing left to do."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)"
        )
        current = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
        newest = max((m.version for m in migrations), default=0)
        if current > newest:
            raise MigrationError(
                f"database schema is version {current}, newer than this Roost ({newest});"
                " upgrade Roost"
            )
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version > current:
                await _apply(conn, migration)
                current = migration.version
        return current
    finally:
        with contextlib.suppress(*_UNREACHABLE, asyncpg.InterfaceError):
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    if migration.then is not None:
        # A `then` step is Python on SQLite's connection; PostgreSQL needs its own SQL for it.
        raise MigrationError(
            f"migration {migration.version} has a data step written for SQLite only;"
            " give it a `postgres` text that does the same"
        )
    script = migration.postgres if migration.postgres is not None else migration.sql
    try:
        async with conn.transaction():
            if script.strip():
                await conn.execute(script)  # the simple protocol: a whole script, no parameters
            await conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.description,
                now_ms(),
            )
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"migration {migration.version} failed: {exc}") from exc


def describe(url: str) -> str:
    """`host:port/database` of a PostgreSQL URL, for messages: never the password."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise StorageError(f"not a valid PostgreSQL URL ({exc})") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise StorageError(
            f"not a PostgreSQL URL (it starts {parts.scheme or '(nothing)'}://):"
            " use postgresql://USER@HOST:PORT/DATABASE"
        )
    host = parts.hostname or "localhost"
    database = parts.path.lstrip("/") or parts.username or "(default)"
    return f"{host}:{port}/{database}"


def unreachable_reason(exc: Unavailable) -> str:
    """Why PostgreSQL could not be reached or would not let us in, in a few words (no host,
    no password): for a message that names the database itself."""
    return _reason(exc.__cause__ or exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is PostgreSQL running and listening there?)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


__all__ = [
    "Cursor",
    "PostgresDatabase",
    "Reader",
    "Transaction",
    "describe",
    "migrate",
    "unreachable_reason",
]
