"""The server schema on PostgreSQL (storage/server/postgres_schema.py) is SQLite's, table by
table: both catalogs are read and compared (columns, primary and unique keys, indexes, foreign
keys), and the running totals kept by triggers come out the same when the same rows go through
both engines."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from storage.database import Migration
from storage.errors import StorageError
from storage.postgres import PostgresDatabase
from storage.server.postgres_schema import BASELINE_VERSION, server_migrations
from storage.server.schema import MIGRATIONS
from storage.sqlite import SqliteDatabase

# SQLite's full-text tables belong to search, which builds its own index on PostgreSQL.
SEARCH_TABLES = (
    "posts_fts", "users_fts", "messages_fts", "files_fts", "messages_to_index", "files_to_index",
)  # fmt: skip
# Indexes search keeps on each engine in its own shape (PostgreSQL's are on expressions).
SEARCH_INDEXES = ("post_tags_by_tag", "posts_search", "messages_search", "files_search")
TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}
ON_DELETE = {"CASCADE": "c", "SET NULL": "n", "NO ACTION": "a", "RESTRICT": "r", "SET DEFAULT": "d"}

Shape = dict[str, Any]  # one table: columns, primary key, unique keys, indexes, foreign keys


def predicate(text: str | None) -> str | None:
    """A partial index's WHERE as both engines can be compared: no casts, parentheses, spaces
    or case."""
    if text is None:
        return None
    text = re.sub(r"::\w+", "", text)
    return re.sub(r"[()\s]", "", text).lower()


def default(text: str | None) -> str | None:
    return None if text is None else re.sub(r"::\w+", "", text)


# ---------------------------------------------------------------- SQLite's catalog


def sqlite_schema(path: Path) -> dict[str, Shape]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        shadow = tuple(f"{name}_" for name in SEARCH_TABLES)
        tables = sorted(
            name
            for name, _sql in rows
            if not name.startswith("sqlite_")
            and name not in SEARCH_TABLES
            and not name.startswith(shadow)
        )
        return {table: _sqlite_table(conn, table) for table in tables}
    finally:
        conn.close()


def _sqlite_table(conn: sqlite3.Connection, table: str) -> Shape:
    columns = conn.execute(f"PRAGMA table_info('{table}')").fetchall()
    shape: Shape = {
        "columns": [
            # A primary key column is NOT NULL in PostgreSQL whatever it declares.
            (name, TYPES[kind.upper()], bool(notnull or pk), default(dflt))
            for _cid, name, kind, notnull, dflt, pk in columns
        ],
        "primary key": tuple(
            c[1] for c in sorted((c for c in columns if c[5]), key=lambda c: c[5])
        ),
        "unique": set(),
        "indexes": set(),
        "foreign keys": set(),
    }
    for _seq, name, unique, origin, partial in conn.execute(f"PRAGMA index_list('{table}')"):
        if name in SEARCH_INDEXES:
            continue
        if origin == "pk":
            continue
        cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info('{name}')"))
        where = None
        if partial:
            (sql,) = conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", (name,)
            ).fetchone()
            where = predicate(sql.split(" WHERE ", 1)[1])
        if unique:
            shape["unique"].add((cols, where))
        else:
            shape["indexes"].add((name, cols, where))
    keys: dict[int, list[Any]] = {}
    for fk_id, _seq, parent, source, target, _upd, on_delete, _match in conn.execute(
        f"PRAGMA foreign_key_list('{table}')"
    ):
        key = keys.setdefault(fk_id, [parent, [], [], ON_DELETE[on_delete]])
        key[1].append(source)
        key[2].append(target)
    shape["foreign keys"] = {(p, tuple(s), tuple(t), d) for p, s, t, d in keys.values()}
    return shape


# ---------------------------------------------------------------- PostgreSQL's catalog

PG_COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable = 'NO', column_default, is_identity
FROM information_schema.columns WHERE table_schema = 'public'
ORDER BY table_name, ordinal_position
"""
PG_INDEXES = """
SELECT t.relname, i.relname, x.indisprimary, x.indisunique,
    pg_get_expr(x.indpred, x.indrelid),
    (SELECT string_agg(a.attname, ',' ORDER BY k.n)
     FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
     JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'
"""
PG_FOREIGN_KEYS = """
SELECT t.relname, p.relname, c.confdeltype::text,
    (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY
        AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
    (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY
        AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid
WHERE c.contype = 'f'
"""


async def rows(db: PostgresDatabase, sql: str) -> list[Any]:
    async with db.reader.execute(sql) as cur:
        return list(await cur.fetchall())


async def postgres_schema(db: PostgresDatabase) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    for table, column, kind, notnull, dflt, identity in await rows(db, PG_COLUMNS):
        shape = shapes.setdefault(
            table,
            {"columns": [], "primary key": (), "unique": set(), "indexes": set()},
        )
        shape["columns"].append((column, kind, notnull, default(dflt)))
        if identity == "YES":
            shape["identity"] = column
    for table, name, primary, unique, where, cols in await rows(db, PG_INDEXES):
        if name in SEARCH_INDEXES:
            continue
        columns = tuple(cols.split(","))
        if primary:
            shapes[table]["primary key"] = columns
        elif unique:
            shapes[table]["unique"].add((columns, predicate(where)))
        else:
            shapes[table]["indexes"].add((name, columns, predicate(where)))
    for shape in shapes.values():
        shape["foreign keys"] = set()
    for table, parent, on_delete, source, target in await rows(db, PG_FOREIGN_KEYS):
        shapes[table]["foreign keys"].add(
            (parent, tuple(source.split(",")), tuple(target.split(",")), on_delete)
        )
    return shapes


def differences(sqlite: dict[str, Shape], postgres: dict[str, Shape]) -> list[str]:
    found = [f"table {t} only on SQLite" for t in sorted(sqlite.keys() - postgres.keys())]
    found += [f"table {t} only on PostgreSQL" for t in sorted(postgres.keys() - sqlite.keys())]
    for table in sorted(sqlite.keys() & postgres.keys()):
        for part in ("columns", "primary key", "unique", "indexes", "foreign keys"):
            theirs, ours = sqlite[table][part], postgres[table][part]
            if theirs != ours:
                found.append(f"{table} {part}: SQLite {theirs!r} != PostgreSQL {ours!r}")
    return found


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "server.db"


async def open_both(postgres_url: str, path: Path) -> tuple[SqliteDatabase, PostgresDatabase]:
    sqlite = await SqliteDatabase(path, MIGRATIONS).open()
    try:
        postgres = await PostgresDatabase(postgres_url, server_migrations()).open()
    except BaseException:
        await sqlite.close()
        raise
    return sqlite, postgres


async def test_every_table_matches_a_freshly_migrated_sqlite_database(
    postgres_url: str, sqlite_path: Path
) -> None:
    sqlite, postgres = await open_both(postgres_url, sqlite_path)
    try:
        on_postgres = await postgres_schema(postgres)
        on_sqlite = sqlite_schema(sqlite_path)
        assert differences(on_sqlite, on_postgres) == []
        # The one column PostgreSQL numbers itself, as SQLite's rowid alias does.
        assert [t for t, s in on_postgres.items() if "identity" in s] == ["name_repairs"]
        async with postgres.reader.execute("SELECT version FROM schema_version") as cur:
            assert [r[0] for r in await cur.fetchall()] == [m.version for m in server_migrations()]
    finally:
        await sqlite.close()
        await postgres.close()


def test_the_comparison_names_a_difference() -> None:
    table: Shape = {
        "columns": [("id", "bigint", True, None)],
        "primary key": ("id",),
        "unique": {(("name",), None)},
        "indexes": set(),
        "foreign keys": set(),
    }
    other = {**table, "unique": set(), "columns": [("id", "text", True, None)]}
    found = differences({"t": table, "gone": table}, {"t": other})
    assert found[0] == "table gone only on SQLite"
    assert any(f.startswith("t columns:") for f in found)
    assert any(f.startswith("t unique:") for f in found)


async def test_a_database_at_the_baseline_takes_only_later_migrations(postgres_url: str) -> None:
    after = [m for m in MIGRATIONS if m.version > BASELINE_VERSION]
    later = Migration(
        MIGRATIONS[-1].version + 1,
        "later",
        "CREATE TABLE later (id INTEGER PRIMARY KEY) WITHOUT ROWID",
        postgres="CREATE TABLE later (id BIGINT PRIMARY KEY)",
    )
    steps = server_migrations([*MIGRATIONS, later])
    assert [m.version for m in steps] == [
        BASELINE_VERSION,
        *(m.version for m in after),
        later.version,
    ]
    assert steps[1:] == [*after, later]
    with pytest.raises(ValueError, match="no migration 15"):
        server_migrations(MIGRATIONS[:3])

    await (await PostgresDatabase(postgres_url, server_migrations()).open()).close()
    await (await PostgresDatabase(postgres_url, server_migrations()).open()).close()  # again
    db = await PostgresDatabase(postgres_url, steps).open()
    try:
        async with db.reader.execute("SELECT version FROM schema_version ORDER BY 1") as cur:
            assert [r[0] for r in await cur.fetchall()] == [m.version for m in steps]
        async with db.reader.execute("SELECT count(*) FROM later") as cur:
            assert (await cur.fetchone())[0] == 0
    finally:
        await db.close()


# ---------------------------------------------------------------- the triggers' totals

STEPS: list[tuple[str, Sequence[tuple[Any, ...]]]] = [
    (
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, 'x', 0)",
        [(1, "ann"), (2, "bob"), (3, "cy")],
    ),
    (
        "INSERT INTO namespaces (id, kind, owner_id, name, created_at) VALUES (?, ?, ?, ?, 0)",
        [(10, "home", 1, "ann"), (11, "share", 2, "photos"), (12, "home", 2, "bob")],
    ),
    (
        "INSERT INTO blocks (hash, size, stored_size, created_at) VALUES (?, ?, ?, 0)",
        [("h1", 100, 90), ("h2", 250, 200), ("h3", 4000, 1000)],
    ),
    (
        "INSERT INTO block_uploads (user_id, hash, created_at) VALUES (?, ?, 0)",
        [(1, "h1"), (1, "h2"), (2, "h3"), (1, "not-a-block")],
    ),
    (
        "INSERT INTO file_versions (id, namespace_id, path, seq, kind, size, mtime_ms, deleted,"
        " parent_id, user_id, device_name, created_at) VALUES (?, ?, ?, ?, 'file', ?, 0, ?,"
        " NULL, ?, 'laptop', 0)",
        [
            (100, 10, "a.txt", 1, 350, 0, 1),
            (101, 10, "a.txt", 2, 400, 0, 1),
            (102, 11, "cat.jpg", 1, 4000, 0, 2),
            (103, 10, "a.txt", 3, 0, 1, 1),
            (104, 12, "notes.md", 1, 12, 0, 2),
        ],
    ),
    (
        "INSERT INTO attachments (id, owner_id, name, size, created_at) VALUES (?, ?, ?, ?, 0)",
        [(200, 1, "x.png", 300), (201, 1, "y.png", 50), (202, 2, "z.pdf", 10)],
    ),
    (
        "UPDATE file_versions SET path = ? WHERE namespace_id = ? AND path = ?",
        [("b.txt", 10, "a.txt")],
    ),
    ("UPDATE namespaces SET owner_id = ?, name = ? WHERE id = ?", [(1, "photos (bob)", 11)]),
    ("UPDATE attachments SET name = ? WHERE id = ?", [("renamed.png", 200)]),
    ("DELETE FROM file_versions WHERE id = ?", [(100,), (104,)]),
    ("DELETE FROM block_uploads WHERE user_id = ? AND hash = ?", [(1, "h1"), (1, "not-a-block")]),
    ("DELETE FROM attachments WHERE id = ?", [(201,)]),
    ("DELETE FROM users WHERE id = ?", [(2,)]),  # cascades to bob's home, uploads, attachment
]

TOTALS = [
    "SELECT id, owner_id, entries, bytes FROM namespaces ORDER BY id",
    "SELECT user_id, attachments, attachment_bytes, uncommitted_bytes FROM user_use"
    " ORDER BY user_id",
    "SELECT user_id, followers, following, posts FROM social_stats ORDER BY user_id",
]
RECOUNTS = [
    "SELECT n.id, n.owner_id, COUNT(v.id), COALESCE(SUM(v.size), 0) FROM namespaces n"
    " LEFT JOIN file_versions v ON v.namespace_id = n.id GROUP BY n.id, n.owner_id ORDER BY n.id",
]


async def read(db: Any, sql: str) -> list[tuple[Any, ...]]:
    async with db.reader.execute(sql) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def test_the_same_rows_give_the_same_totals_on_both_engines(
    postgres_url: str, sqlite_path: Path
) -> None:
    sqlite, postgres = await open_both(postgres_url, sqlite_path)
    try:
        for sql, params in STEPS:
            for db in (sqlite, postgres):
                async with db.write() as tx:
                    await tx.executemany(sql, params)
            for query in TOTALS + RECOUNTS:
                assert await read(postgres, query) == await read(sqlite, query), (sql, query)
            # The running totals are the recount, on both.
            assert await read(postgres, TOTALS[0]) == await read(postgres, RECOUNTS[0]), sql
        # ann: one attachment left (300 B); h2 (250 B) still waits for a commit. cy never
        # uploaded, so has no row; bob is gone.
        assert await read(postgres, TOTALS[1]) == [(1, 1, 300, 250)]
        assert await read(postgres, TOTALS[0]) == [(10, 1, 2, 400), (11, 1, 1, 4000)]
    finally:
        await sqlite.close()
        await postgres.close()


async def test_the_constraints_refuse_on_postgresql_what_sqlite_refuses(
    postgres_url: str, sqlite_path: Path
) -> None:
    sqlite, postgres = await open_both(postgres_url, sqlite_path)
    refused = [
        "INSERT INTO users (id, username, password_hash, created_at, role)"
        " VALUES (5, 'eve', 'x', 0, 'boss')",
        "INSERT INTO invites (id, code_hash, created_at, uses, used) VALUES ('i', 'c', 0, 1, 2)",
        "INSERT INTO devices (id, user_id, name, token_hash, created_at)"
        " VALUES (1, 999, 'phone', 't', 0)",
        "INSERT INTO conversations (id, kind, created_by, created_at) VALUES (1, 'party', 1, 0)",
    ]
    try:
        for db in (sqlite, postgres):
            async with db.write() as tx:
                await tx.execute(
                    "INSERT INTO users (id, username, password_hash, created_at)"
                    " VALUES (1, 'a', 'x', 0)"
                )
            for sql in refused:
                with pytest.raises((StorageError, sqlite3.Error)):
                    async with db.write() as tx:
                        await tx.execute(sql)
    finally:
        await sqlite.close()
        await postgres.close()
