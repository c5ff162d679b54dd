"""`roost admin copy --to postgresql://…`: move a stopped server's SQLite database into an empty
PostgreSQL database, whole, in one transaction, and prove it by counting every table's rows.

The target is migrated first (the same migrations `roost serve --db` runs), so both databases
have the same tables; then every table is copied in foreign-key order (parents first), in
batches through COPY, with the tables' own triggers off: the running totals they keep
(storage use, social counters) are copied as SQLite kept them, not counted a second time.
Identity columns are set past the copied ids. Blocks are files in the data folder and stay
there: `roost serve --db URL --data SAME_FOLDER` serves them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from storage.errors import StorageError, Unavailable
from storage.postgres import PostgresDatabase, describe
from storage.server.data_lock import DataFolderInUse, lock_data_folder
from storage.server.postgres_schema import server_migrations
from storage.server.schema import MIGRATIONS

DATABASE = "roost.db"  # as storage/server/backup.py names it in the data folder
BATCH_ROWS = 5000

# Not copied: SQLite's own bookkeeping (sqlite_sequence, sqlite_stat*), the FTS5 search tables
# (posts_fts, users_fts, messages_fts, files_fts) with their shadow tables (…_data, _idx,
# _content, _docsize, _config) and the queues that feed two of them (PostgreSQL's search
# indexes are its own, current at commit), and schema_version (each database records the
# migrations it ran itself).
NOT_COPIED = frozenset({"schema_version", "messages_to_index", "files_to_index"})


@dataclass(frozen=True)
class CopiedTable:
    name: str
    rows: int


@dataclass(frozen=True)
class CopyReport:
    target: str  # host:port/database
    schema_version: int
    tables: list[CopiedTable]
    skipped: list[str]  # SQLite-only tables, not copied

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


class TargetNotEmpty(StorageError):
    pass


class SourceNotCurrent(StorageError):
    pass


async def copy_to_postgres(
    data_dir: Path,
    url: str,
    *,
    batch_rows: int = BATCH_ROWS,
    copied: Callable[[CopiedTable], None] | None = None,
) -> CopyReport:
    """Copy the server database in `data_dir` into the empty PostgreSQL database at `url`."""
    where = describe(url)  # a bad URL is refused before anything is touched
    path = data_dir / DATABASE
    if not path.is_file():
        raise StorageError(f"no Roost database in {data_dir} (looked for {DATABASE})")
    try:
        lock = lock_data_folder(data_dir, holder="roost admin copy")
    except DataFolderInUse as exc:
        raise DataFolderInUse(f"{exc}: stop the server before copying its database") from None
    try:
        source = _open_source(path)
        try:
            version = _current_version(source, data_dir)
            target = await _connect(url, where)
            try:
                # Before the migrations touch it: a database with rows is someone's.
                await _refuse_rows(target, await _table_names(target), where)
                # Migrating (as roost serve --db would) gives the target every table.
                await (await PostgresDatabase(url, server_migrations()).open()).close()
                tables, skipped = await _copy(source, target, where, batch_rows, copied)
            finally:
                await target.close()
        finally:
            source.close()
    finally:
        lock.release()
    return CopyReport(where, version, tables, skipped)


def _open_source(path: Path) -> sqlite3.Connection:
    source = sqlite3.connect(path, isolation_level=None)
    source.execute("PRAGMA query_only = ON")
    source.execute("BEGIN")  # one snapshot for every table and count
    return source


def _current_version(source: sqlite3.Connection, data_dir: Path) -> int:
    (version,) = source.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    newest = max(m.version for m in MIGRATIONS)
    if version < newest:
        raise SourceNotCurrent(
            f"the database in {data_dir} is at schema version {version}, older than this"
            f" Roost's {newest}: run roost serve --data {data_dir} once (it migrates on start),"
            " stop it, then copy"
        )
    if version > newest:
        raise SourceNotCurrent(
            f"the database in {data_dir} is at schema version {version}, newer than this"
            f" Roost's {newest}: copy with the Roost that last served it"
        )
    return int(version)


async def _connect(url: str, where: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:  # refused, no such database, login refused
        raise Unavailable(f"cannot connect to PostgreSQL at {where}: {exc}") from exc


async def _refuse_rows(target: asyncpg.Connection, tables: list[str], where: str) -> None:
    holding = [f"{t} ({n} row{'s' * (n != 1)})" for t in tables if (n := await _count(target, t))]
    if holding:
        raise TargetNotEmpty(
            f"PostgreSQL database {where} is not empty: {', '.join(holding)};"
            " copy into a new, empty database (CREATE DATABASE)"
        )


async def _table_names(target: asyncpg.Connection) -> list[str]:
    rows = await target.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    return [r["tablename"] for r in rows if r["tablename"] not in NOT_COPIED]


async def _copy(
    source: sqlite3.Connection,
    target: asyncpg.Connection,
    where: str,
    batch_rows: int,
    copied: Callable[[CopiedTable], None] | None,
) -> tuple[list[CopiedTable], list[str]]:
    async with target.transaction():
        tables = await _tables_parents_first(target)
        sqlite_tables, skipped = _sqlite_tables(source)
        missing = sorted(sqlite_tables - set(tables))
        if missing:
            raise StorageError(
                f"tables in SQLite that PostgreSQL lacks: {', '.join(missing)};"
                " this Roost cannot copy them"
            )
        await _refuse_rows(target, tables, where)  # again: someone may have written since
        report = []
        for table in tables:
            if table not in sqlite_tables:  # made by a PostgreSQL-only migration: left as is
                skipped.append(f"{table} (PostgreSQL only)")
                continue
            rows = await _copy_table(source, target, table, batch_rows)
            copied_rows = await _count(target, table)
            if copied_rows != rows:
                raise StorageError(
                    f"{table}: {rows} rows in SQLite but {copied_rows} in PostgreSQL;"
                    " nothing was copied"
                )
            report.append(CopiedTable(table, rows))
            if copied is not None:
                copied(report[-1])
        await _set_identities_past_copied_ids(target)
    return report, skipped


async def _tables_parents_first(target: asyncpg.Connection) -> list[str]:
    """The schema's tables, every one after the tables its foreign keys refer to."""
    names = await _table_names(target)
    edges = await target.fetch(
        "SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k"
        " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
        " WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace"
    )
    parents: dict[str, set[str]] = {n: set() for n in names}
    for edge in edges:
        if edge["child"] in parents and edge["child"] != edge["parent"]:
            parents[edge["child"]].add(edge["parent"])
    return parents_first(parents)


def parents_first(parents: dict[str, set[str]]) -> list[str]:
    """Names ordered so each comes after its parents (alphabetical among equals, so the order
    is the same on every run). A cycle is an error: no order could satisfy it."""
    ordered: list[str] = []
    done: set[str] = set()
    while len(ordered) < len(parents):
        ready = sorted(n for n in parents if n not in done and parents[n] <= done)
        if not ready:
            left = sorted(set(parents) - done)
            raise StorageError(f"foreign keys form a cycle among {', '.join(left)}")
        ordered.extend(ready)
        done.update(ready)
    return ordered


def _sqlite_tables(source: sqlite3.Connection) -> tuple[set[str], list[str]]:
    """The tables to copy, and the SQLite-only ones that are not."""
    rows = source.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = [name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL")]
    skipped, tables = [], set()
    for name, _ in rows:
        sqlite_only = name.startswith("sqlite_") or any(
            name == v or name.startswith(f"{v}_") for v in virtual
        )
        if sqlite_only or name in NOT_COPIED - {"schema_version"}:
            skipped.append(name)
        elif name not in NOT_COPIED:
            tables.add(name)
    return tables, sorted(skipped)


async def _count(target: asyncpg.Connection, table: str) -> int:
    return int(await target.fetchval(f"SELECT COUNT(*) FROM {_quoted(table)}"))


async def _copy_table(
    source: sqlite3.Connection, target: asyncpg.Connection, table: str, batch_rows: int
) -> int:
    columns = await _columns(target, table)
    have = {r[1] for r in source.execute(f"PRAGMA table_info({_quoted(table)})")}
    if lacking := [name for name, _ in columns if name not in have]:
        raise StorageError(f"{table}: SQLite lacks the columns {', '.join(lacking)}")
    if extra := sorted(have - {name for name, _ in columns}):
        raise StorageError(f"{table}: PostgreSQL lacks the columns {', '.join(extra)}")
    names = [name for name, _ in columns]
    convert = [_converter(table, name, kind) for name, kind in columns]
    rows = source.execute(f"SELECT {', '.join(map(_quoted, names))} FROM {_quoted(table)}")
    # The table's own triggers (running totals) would count every copied row a second time.
    await target.execute(f"ALTER TABLE {_quoted(table)} DISABLE TRIGGER USER")
    total = 0
    while batch := rows.fetchmany(batch_rows):
        records = [tuple(c(v) for c, v in zip(convert, row, strict=True)) for row in batch]
        await target.copy_records_to_table(table, records=records, columns=names)
        total += len(records)
    await target.execute(f"ALTER TABLE {_quoted(table)} ENABLE TRIGGER USER")
    (in_sqlite,) = source.execute(f"SELECT COUNT(*) FROM {_quoted(table)}").fetchone()
    if in_sqlite != total:
        raise StorageError(f"{table}: read {total} rows of {in_sqlite}")
    return total


async def _columns(target: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, type) of the columns COPY may write: generated ones are PostgreSQL's to fill."""
    rows = await target.fetch(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS kind FROM pg_attribute a"
        " WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        " AND a.attgenerated = '' ORDER BY a.attnum",
        _quoted(table),
    )
    return [(r["attname"], r["kind"]) for r in rows]


def _converter(table: str, column: str, kind: str) -> Callable[[Any], Any]:
    """SQLite keeps what it was given; COPY wants the column's own Python type."""

    def as_int(v: Any) -> Any:
        return v if v is None or isinstance(v, int) else int(v)

    def as_text(v: Any) -> Any:
        return v if v is None or isinstance(v, str) else str(v)

    def as_bytes(v: Any) -> Any:
        if v is None or isinstance(v, bytes):
            return v
        return v.encode() if isinstance(v, str) else bytes(v)

    def as_float(v: Any) -> Any:
        return v if v is None else float(v)

    def as_bool(v: Any) -> Any:
        return v if v is None else bool(v)

    by_kind: dict[str, Callable[[Any], Any]] = {
        "bigint": as_int,
        "integer": as_int,
        "smallint": as_int,
        "text": as_text,
        "bytea": as_bytes,
        "double precision": as_float,
        "real": as_float,
        "boolean": as_bool,
    }
    if kind not in by_kind:
        raise StorageError(f"{table}.{column}: cannot copy a column of type {kind}")
    convert = by_kind[kind]

    def checked(v: Any) -> Any:
        try:
            return convert(v)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"{table}.{column}: {v!r} is not a {kind} ({exc})") from None

    return checked


async def _set_identities_past_copied_ids(target: asyncpg.Connection) -> None:
    """Identity columns (name_repairs.id) must number new rows after the copied ones."""
    identities = await target.fetch(
        "SELECT c.relname AS tab, a.attname AS col FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE a.attidentity <> '' AND c.relnamespace = current_schema()::regnamespace"
    )
    for row in identities:
        table, column = _quoted(row["tab"]), _quoted(row["col"])
        await target.execute(
            f"SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({column}), 0) + 1,"
            f" false) FROM {table}",
            row["tab"],
            row["col"],
        )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


__all__ = [
    "CopiedTable",
    "CopyReport",
    "SourceNotCurrent",
    "TargetNotEmpty",
    "copy_to_postgres",
    "parents_first",
]
