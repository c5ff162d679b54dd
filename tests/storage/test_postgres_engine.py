"""The PostgreSQL engine keeps the storage contract on a real PostgreSQL (tests/postgres.py):
committed data only for readers, all-or-nothing transactions (also when cancelled), `?`
placeholders, rows by index and name, row counts, ints, Roost's own errors, and migrations
that run once and refuse a newer database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.database import Migration
from storage.errors import MigrationError, StorageError, Unavailable, UniqueViolation
from storage.postgres import PostgresDatabase
from storage.sqlite import SqliteDatabase
from tests.postgres import free_port

NOTES = Migration(
    1,
    "notes",
    # SQLite's text; PostgreSQL gets its own below.
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, author INTEGER NOT NULL, text TEXT NOT NULL,"
    " body BLOB) WITHOUT ROWID",
    postgres="CREATE TABLE notes (id BIGINT PRIMARY KEY, author BIGINT NOT NULL,"
    " text TEXT NOT NULL, body BYTEA)",
)
MIGRATIONS = [NOTES]


async def opened(url: str, migrations: list[Migration] = MIGRATIONS) -> PostgresDatabase:
    return await PostgresDatabase(url, migrations).open()


async def add_notes(db: PostgresDatabase, *ids: int) -> None:
    async with db.write() as tx:
        for note in ids:
            await tx.execute(
                "INSERT INTO notes (id, author, text) VALUES (?, ?, ?)", (note, 1, f"n{note}")
            )


async def note_ids(db: PostgresDatabase) -> list[int]:
    async with db.reader.execute("SELECT id FROM notes ORDER BY id") as cur:
        return [row[0] for row in await cur.fetchall()]


async def open_transactions(url: str) -> int:
    """Sessions of this database sitting inside a transaction (other than the asking one)."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
    finally:
        await conn.close()


async def test_statements_read_as_the_contract_says(postgres_url: str) -> None:
    db = await opened(postgres_url)
    try:
        assert db.engine == "postgresql"
        async with db.write() as tx:
            inserted = await tx.execute(
                "INSERT INTO notes (id, author, text, body) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
                (1, 7, "bees", b"\x00\xff", 2, 7, "hives", None),
            )
            assert inserted.rowcount == 2
            await tx.executemany(
                "INSERT INTO notes (id, author, text) VALUES (?, ?, ?)",
                [(n, 8, f"n{n}") for n in range(3, 103)],
            )
        async with db.reader.execute("SELECT id, text, body FROM notes WHERE id <= ?", (2,)) as cur:
            first = await cur.fetchone()
            assert (first[0], first["text"], first["body"]) == (1, "bees", b"\x00\xff")
            assert list(first) == [1, "bees", b"\x00\xff"]
            assert [row["id"] for row in await cur.fetchall()] == [2]
            assert await cur.fetchone() is None
        cur = await db.reader.execute("SELECT id FROM notes WHERE author = ? ORDER BY id", (8,))
        assert cur.rowcount == 100  # a SELECT counts the rows it returned
        assert [row[0] for row in await cur.fetchmany(2)] == [3, 4]
        assert len([row async for row in cur]) == 98
        async with db.write() as tx:
            updated = await tx.execute("UPDATE notes SET text = 'x' WHERE author = ?", (8,))
            deleted = await tx.execute("DELETE FROM notes WHERE id > ?", (52,))
            created = await tx.execute("CREATE INDEX notes_by_author ON notes (author)")
        assert (updated.rowcount, deleted.rowcount, created.rowcount) == (100, 50, -1)
    finally:
        await db.close()


async def test_a_question_mark_in_a_literal_is_not_a_placeholder(postgres_url: str) -> None:
    db = await opened(postgres_url)
    try:
        async with db.reader.execute(
            "SELECT ?::text AS a, '?' AS b, 'it''s ?' AS c, ?::bigint AS d", ("x", 5)
        ) as cur:
            row = await cur.fetchone()
        assert (row["a"], row["b"], row["c"], row["d"]) == ("x", "?", "it's ?", 5)
    finally:
        await db.close()


async def test_integers_come_back_as_int_never_decimal(postgres_url: str) -> None:
    db = await opened(postgres_url)
    try:
        await add_notes(db, 1, 2, 4)
        async with db.reader.execute(
            "SELECT SUM(id), COUNT(*), MAX(id), AVG(id), SUM(id) + 1 FROM notes"
        ) as cur:
            total, count, top, mean, more = await cur.fetchone()
        assert (total, count, top, more) == (7, 3, 4, 8)
        assert all(type(v) is int for v in (total, count, top, more))
        assert mean == pytest.approx(7 / 3) and type(mean) is float
    finally:
        await db.close()


async def test_readers_see_only_committed_data(postgres_url: str) -> None:
    db = await opened(postgres_url)
    try:
        async with db.write() as tx:
            await tx.execute("INSERT INTO notes (id, author, text) VALUES (1, 1, 'draft')")
            assert await note_ids(db) == []  # not yet committed
            async with tx.execute("SELECT id FROM notes") as cur:  # the writer sees its own
                assert [row[0] for row in await cur.fetchall()] == [1]
        assert await note_ids(db) == [1]
    finally:
        await db.close()


async def test_a_failed_transaction_leaves_nothing(postgres_url: str) -> None:
    db = await opened(postgres_url)
    try:
        await add_notes(db, 1)
        with pytest.raises(UniqueViolation):
            await add_notes(db, 2, 3, 1)  # 1 is taken: 2 and 3 must not stay either
        with pytest.raises(UniqueViolation):
            async with db.write() as tx:
                await tx.executemany(
                    "INSERT INTO notes (id, author, text) VALUES (?, 1, 'x')", [(5,), (1,)]
                )
        with pytest.raises(RuntimeError):
            async with db.write() as tx:
                await tx.execute("INSERT INTO notes (id, author, text) VALUES (9, 1, 'x')")
                raise RuntimeError("the caller changed its mind")
        with pytest.raises(StorageError, match="not-null"):
            async with db.write() as tx:
                await tx.execute("INSERT INTO notes (id, author, text) VALUES (10, 1, NULL)")
        # A failed statement spoils its transaction, even if the caller catches its error.
        with pytest.raises(StorageError, match="rolled back"):
            async with db.write() as tx:
                await tx.execute("INSERT INTO notes (id, author, text) VALUES (11, 1, 'x')")
                with pytest.raises(UniqueViolation):
                    await tx.execute("INSERT INTO notes (id, author, text) VALUES (1, 1, 'x')")
        assert await note_ids(db) == [1]
        assert await open_transactions(postgres_url) == 0
        await add_notes(db, 2)  # the connections that failed are fine for the next writer
        assert await note_ids(db) == [1, 2]
    finally:
        await db.close()


async def test_a_cancelled_transaction_leaves_nothing_and_no_open_transaction(
    postgres_url: str,
) -> None:
    db = await opened(postgres_url)
    try:
        inside = asyncio.Event()

        async def write_then_wait_for_the_database() -> None:
            async with db.write() as tx:
                await tx.execute("INSERT INTO notes (id, author, text) VALUES (1, 1, 'x')")
                inside.set()
                await tx.execute("SELECT pg_sleep(30)")  # cancelled in the middle of this

        async def write_then_wait_for_python() -> None:
            async with db.write() as tx:
                await tx.execute("INSERT INTO notes (id, author, text) VALUES (2, 1, 'x')")
                inside.set()
                await asyncio.Event().wait()  # cancelled between statements

        for work in (write_then_wait_for_the_database, write_then_wait_for_python):
            inside.clear()
            task = asyncio.create_task(work())
            await asyncio.wait_for(inside.wait(), 10)
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert await note_ids(db) == []
        assert await open_transactions(postgres_url) == 0
        # Every pooled connection is usable: as many writers at once as the pool holds.
        await asyncio.gather(*(add_notes(db, n) for n in range(10, 20)))
        assert await note_ids(db) == list(range(10, 20))
    finally:
        await db.close()


async def test_one_transaction_shared_by_coroutines_runs_their_statements_in_turn(
    postgres_url: str,
) -> None:
    db = await opened(postgres_url)
    try:
        async with db.write() as tx:
            await asyncio.gather(
                *(
                    tx.execute("INSERT INTO notes (id, author, text) VALUES (?, 1, 'x')", (n,))
                    for n in range(20)
                )
            )
        assert await note_ids(db) == list(range(20))
        with pytest.raises(StorageError, match="transaction is over"):
            await tx.execute("SELECT 1")
    finally:
        await db.close()


async def test_an_unreachable_database_says_where_in_one_line(postgres_url: str) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(Unavailable) as caught:
        await opened(f"postgresql://roost:sekrit@127.0.0.1:{port}/roost")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "refused" in message
    assert "sekrit" not in message and "\n" not in message

    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(Unavailable, match="no_such_database"):
        await opened(missing)

    with pytest.raises(StorageError, match="not a PostgreSQL URL"):
        PostgresDatabase("mysql://root:sekrit@127.0.0.1/roost", MIGRATIONS)


async def terminate_sessions(url: str) -> None:
    """Every other session of this database ends, as when PostgreSQL restarts."""
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()


async def test_a_lost_connection_is_unavailable_and_the_engine_recovers(postgres_url: str) -> None:
    db = await opened(postgres_url)
    try:
        await add_notes(db, 1)
        inside = asyncio.Event()
        killed = asyncio.Event()

        async def interrupted_write() -> None:
            async with db.write() as tx:
                await tx.execute("INSERT INTO notes (id, author, text) VALUES (2, 1, 'x')")
                inside.set()
                await killed.wait()
                await tx.execute("INSERT INTO notes (id, author, text) VALUES (3, 1, 'x')")

        task = asyncio.create_task(interrupted_write())
        await asyncio.wait_for(inside.wait(), 10)
        await terminate_sessions(postgres_url)
        killed.set()
        with pytest.raises(Unavailable, match="unavailable"):
            await task
        # Reads and writes go on, on new connections; nothing of the lost transaction stayed.
        assert await note_ids(db) == [1]
        await add_notes(db, 4)
        assert await note_ids(db) == [1, 4]

        # A pool full of connections the server has since closed: the next write and the next
        # read each go through at once, on new connections.
        await asyncio.gather(*(add_notes(db, n) for n in range(10, 18)))
        await terminate_sessions(postgres_url)
        await add_notes(db, 5)
        await terminate_sessions(postgres_url)
        assert await note_ids(db) == [1, 4, 5, *range(10, 18)]
    finally:
        await db.close()


async def test_a_statement_without_an_answer_is_given_up(postgres_url: str) -> None:
    db = await PostgresDatabase(postgres_url, MIGRATIONS, statement_timeout=0.5).open()
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable, match="timed out"):
            await db.reader.execute("SELECT pg_sleep(10)")
        assert time.monotonic() - started < 0.9  # given up once, not tried again
        with pytest.raises(Unavailable, match="timed out"):
            async with db.write() as tx:
                await tx.execute("INSERT INTO notes (id, author, text) VALUES (1, 1, 'x')")
                await tx.execute("SELECT pg_sleep(10)")
        assert await note_ids(db) == []
        await add_notes(db, 2)
        assert await note_ids(db) == [2]
    finally:
        await db.close()


async def test_migrations_run_once_even_when_two_processes_start_together(
    postgres_url: str,
) -> None:
    slow = Migration(
        2,
        "counted",
        "",
        postgres="SELECT pg_sleep(0.3); CREATE TABLE counted (n BIGINT);"
        " INSERT INTO counted VALUES (1)",
    )
    first, second = await asyncio.gather(
        opened(postgres_url, [NOTES, slow]), opened(postgres_url, [NOTES, slow])
    )
    try:
        async with first.reader.execute("SELECT count(*) FROM counted") as cur:
            assert (await cur.fetchone())[0] == 1
        async with second.reader.execute("SELECT version FROM schema_version ORDER BY 1") as cur:
            assert [row[0] for row in await cur.fetchall()] == [1, 2]
    finally:
        await first.close()
        await second.close()


async def test_a_newer_database_is_refused_as_sqlite_refuses_it(
    postgres_url: str, tmp_path: Path
) -> None:
    later = Migration(2, "later", "CREATE TABLE later (id INTEGER)")
    await (await opened(postgres_url, [NOTES, later])).close()
    with pytest.raises(MigrationError) as on_postgres:
        await opened(postgres_url, [NOTES])

    sqlite = SqliteDatabase(tmp_path / "x.db", [NOTES, later])
    await (await sqlite.open()).close()
    with pytest.raises(MigrationError) as on_sqlite:
        await SqliteDatabase(tmp_path / "x.db", [NOTES]).open()
    assert str(on_postgres.value) == str(on_sqlite.value)
    assert "newer than this Roost" in str(on_postgres.value)


async def test_a_failed_migration_leaves_the_version_where_it_was(postgres_url: str) -> None:
    broken = Migration(2, "broken", "", postgres="CREATE TABLE a (n BIGINT); CREATE TABLE a (n)")
    with pytest.raises(MigrationError, match="migration 2 failed"):
        await opened(postgres_url, [NOTES, broken])
    sqlite_only = Migration(2, "python step", "", then=lambda conn: None)
    with pytest.raises(MigrationError, match="SQLite only"):
        await opened(postgres_url, [NOTES, sqlite_only])
    db = await opened(postgres_url)
    try:
        async with db.reader.execute("SELECT MAX(version) FROM schema_version") as cur:
            assert (await cur.fetchone())[0] == 1
        async with db.reader.execute("SELECT to_regclass('a') IS NULL") as cur:
            assert (await cur.fetchone())[0] is True
    finally:
        await db.close()


# Text PostgreSQL can hold (no NUL), with the characters that matter to the lexer made common.
literal_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("?'\"$\\-/* \n"),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=12,
)


def as_literal(kind: str, text: str) -> str:
    if kind == "plain":
        return "'" + text.replace("'", "''") + "'"
    if kind == "escaped":
        return "E'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    tag = "$q$"  # dollar quoting needs a tag that the text does not hold
    return f"{tag}{text}{tag}" if tag not in text else "'" + text.replace("'", "''") + "'"


def test_postgresql_reads_placeholders_and_literals_as_the_translation_does(
    postgres_url: str,
) -> None:
    """Random select lists of literals (holding ?, quotes, backslashes, comment marks) and
    parameters, run on the real server: each column comes back as written or as passed."""
    loop = asyncio.new_event_loop()
    db = loop.run_until_complete(opened(postgres_url))
    try:

        @settings(max_examples=60, deadline=None, database=None)
        @given(
            st.lists(
                st.tuples(
                    st.sampled_from(["plain", "escaped", "dollar", "parameter"]), literal_text
                ),
                min_size=1,
                max_size=6,
            )
        )
        def check(columns: list[tuple[str, str]]) -> None:
            select = ", ".join(
                "?::text /* ? */" if kind == "parameter" else as_literal(kind, text)
                for kind, text in columns
            )
            parameters = [text for kind, text in columns if kind == "parameter"]

            async def run() -> list[str]:
                async with db.reader.execute(f"SELECT {select} -- ?\n", parameters) as cur:
                    return list(await cur.fetchone())

            assert loop.run_until_complete(run()) == [text for _kind, text in columns]

        check()
    finally:
        loop.run_until_complete(db.close())
        loop.close()
