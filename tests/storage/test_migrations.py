"""Migrations: applied once, in order, recorded; a database newer than the code is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.client import schema as client_schema
from storage.database import Migration
from storage.errors import MigrationError
from storage.server import schema as server_schema
from storage.sqlite import SqliteDatabase


@pytest.mark.parametrize("schema", [server_schema, client_schema])
async def test_fresh_database_reaches_the_newest_version_and_reopens(
    tmp_path: Path, schema
) -> None:
    newest = max(m.version for m in schema.MIGRATIONS)
    for _ in range(2):  # the second open applies nothing
        db = await SqliteDatabase(tmp_path / "x.db", schema.MIGRATIONS).open()
        async with db.reader.execute("SELECT version FROM schema_version ORDER BY version") as cur:
            versions = [row[0] for row in await cur.fetchall()]
        async with db.reader.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        async with db.reader.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
        await db.close()
        assert versions == list(range(1, newest + 1))  # numbered without gaps


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    later = [
        *server_schema.MIGRATIONS,
        Migration(99, "from the future", "CREATE TABLE future (x INTEGER)"),
    ]
    db = await SqliteDatabase(tmp_path / "x.db", later).open()
    await db.close()
    with pytest.raises(MigrationError, match="newer than this Roost"):
        await SqliteDatabase(tmp_path / "x.db", server_schema.MIGRATIONS).open()


async def test_failed_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    version = max(m.version for m in server_schema.MIGRATIONS) + 1
    broken = [
        *server_schema.MIGRATIONS,
        Migration(version, "broken", "CREATE TABLE ok (x INTEGER); NOT SQL"),
    ]
    with pytest.raises(MigrationError, match=f"migration {version} failed"):
        await SqliteDatabase(tmp_path / "x.db", broken).open()
    db = await SqliteDatabase(tmp_path / "x.db", server_schema.MIGRATIONS).open()
    async with db.reader.execute("SELECT name FROM sqlite_master WHERE name = 'ok'") as cur:
        assert await cur.fetchone() is None  # nothing half-applied
    await db.close()


async def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    db = await SqliteDatabase(tmp_path / "x.db", client_schema.MIGRATIONS).open()
    with pytest.raises(RuntimeError):
        async with db.write() as tx:
            await tx.execute(
                "INSERT INTO cache (kind, key, value, updated_at) VALUES ('k', 'k', x'00', 1)"
            )
            raise RuntimeError("boom")
    async with db.reader.execute("SELECT COUNT(*) FROM cache") as cur:
        assert (await cur.fetchone())[0] == 0
    await db.close()


def test_triggers_stay_one_statement() -> None:
    from storage.sqlite import _statements

    script = (
        "CREATE TABLE a (x); CREATE TRIGGER t AFTER INSERT ON a BEGIN"
        " INSERT INTO b VALUES (1); DELETE FROM c; END; SELECT 1;"
    )
    assert _statements(script) == [
        "CREATE TABLE a (x)",
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); DELETE FROM c; END",
        "SELECT 1",
    ]
