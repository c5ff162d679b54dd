"""The database's fast paths keep the guarantees of the slow ones: a transaction run whole on the
writer's thread commits all or nothing, and a query whose rows come back with it reads as a
cursor did."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.server import schema as server_schema
from storage.sqlite import SqliteDatabase


def _add_user(tx: sqlite3.Connection, user_id: int) -> None:
    tx.execute(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, 'x', 0)",
        (user_id, f"u{user_id}"),
    )


async def _user_ids(db: SqliteDatabase) -> list[int]:
    async with db.reader.execute("SELECT id FROM users ORDER BY id") as cur:
        return [row[0] for row in await cur.fetchall()]


async def test_transaction_on_thread_commits_everything_or_nothing(tmp_path: Path) -> None:
    db = await SqliteDatabase(tmp_path / "x.db", server_schema.MIGRATIONS).open()
    try:

        def good(tx: sqlite3.Connection) -> str:
            _add_user(tx, 1)
            _add_user(tx, 2)
            return "done"

        assert await db.transaction_on_thread(good) == "done"

        def half_then_fails(tx: sqlite3.Connection) -> None:
            _add_user(tx, 3)
            _add_user(tx, 1)  # a duplicate: the whole transaction must roll back

        with pytest.raises(sqlite3.IntegrityError):
            await db.transaction_on_thread(half_then_fails)
        assert await _user_ids(db) == [1, 2]
        # The write lock was released: an ordinary write still goes through.
        async with db.write() as tx:
            await tx.execute(
                "INSERT INTO users (id, username, password_hash, created_at)"
                " VALUES (4, 'u4', 'x', 0)"
            )
        assert await _user_ids(db) == [1, 2, 4]
    finally:
        await db.close()


async def test_queries_read_as_cursors_did(tmp_path: Path) -> None:
    db = await SqliteDatabase(tmp_path / "x.db", server_schema.MIGRATIONS).open()
    try:
        await db.transaction_on_thread(lambda tx: [_add_user(tx, i) for i in range(1, 6)])
        async with db.reader.execute("SELECT id FROM users ORDER BY id") as cur:
            assert (await cur.fetchone())[0] == 1
            assert [r[0] for r in await cur.fetchmany(2)] == [2, 3]
            assert [r[0] for r in await cur.fetchall()] == [4, 5]
            assert await cur.fetchone() is None
        cur = await db.reader.execute("SELECT id FROM users WHERE id > ?", (3,))
        assert [row[0] async for row in cur] == [4, 5]
        async with db.write() as tx:
            updated = await tx.execute("UPDATE users SET password_hash = 'y' WHERE id <= 2")
            assert updated.rowcount == 2
    finally:
        await db.close()


async def test_the_wal_stops_growing_under_back_to_back_writes(tmp_path: Path) -> None:
    limit = 1 << 20
    db = await SqliteDatabase(
        tmp_path / "x.db", server_schema.MIGRATIONS, checkpoint_every=0.01, wal_limit=limit
    ).open()
    wal = tmp_path / "x.db-wal"
    padding = "p" * 16_000
    written = 0
    sizes: list[int] = []

    def add_one(tx: sqlite3.Connection) -> None:
        tx.execute(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, 0)",
            (written, f"u{written}", padding),
        )

    try:
        # Passive checkpoints run beside the writes and never catch up with the last commit:
        # without the truncation, the WAL holds all of this (~40 MiB).
        while written < 2_500:
            await db.transaction_on_thread(add_one)
            written += 1
            if written % 50 == 0:
                sizes.append(wal.stat().st_size)
        assert max(sizes[len(sizes) // 2 :]) < 8 * limit, [s >> 20 for s in sizes]
        assert len(await _user_ids(db)) == written  # nothing lost on the way
    finally:
        await db.close()


async def test_a_write_cancelled_while_it_begins_leaves_no_transaction_open(
    tmp_path: Path,
) -> None:
    """A request cancelled (its client gone, the server stopping) just as its transaction
    begins: the BEGIN still runs on the writer's thread, and the next write must not find a
    transaction open ("cannot start a transaction within a transaction")."""
    db = await SqliteDatabase(tmp_path / "x.db", server_schema.MIGRATIONS).open()
    try:
        writer = db._writer
        assert writer is not None
        # keep the writer's thread busy, so the BEGIN below waits in its queue
        slow = asyncio.ensure_future(
            writer.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
                " SELECT count(*) FROM n"
            )
        )
        entered = asyncio.Event()

        async def write() -> None:
            async with db.write() as tx:
                entered.set()
                await tx.execute(
                    "INSERT INTO users (id, username, password_hash, created_at)"
                    " VALUES (1, 'u1', 'x', 0)"
                )

        task = asyncio.create_task(write())
        await asyncio.sleep(0.05)  # the task now waits for its BEGIN
        assert not entered.is_set() and not slow.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await slow
        async with db.write() as tx:  # refused with the transaction left open before
            await tx.execute(
                "INSERT INTO users (id, username, password_hash, created_at)"
                " VALUES (2, 'u2', 'x', 0)"
            )
        assert await _user_ids(db) == [2]
    finally:
        await db.close()
