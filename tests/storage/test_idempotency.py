"""Batched idempotency look-ups: each wanted key found by the primary key, not a table scan."""

from __future__ import annotations

from pathlib import Path

from storage.server import schema as server_schema
from storage.server.idempotency import IdempotencyRepository, StoredResult
from storage.sqlite import SqliteDatabase


async def test_lookup_many_finds_exactly_the_stored_keys_by_primary_key(tmp_path: Path) -> None:
    db = await SqliteDatabase(tmp_path / "x.db", server_schema.MIGRATIONS).open()
    repo = IdempotencyRepository()
    try:
        async with db.write() as tx:
            for user_id in (1, 2):
                await tx.execute(
                    "INSERT INTO users (id, username, password_hash, created_at)"
                    " VALUES (?, ?, 'x', 0)",
                    (user_id, f"u{user_id}"),
                )
            await repo.record_many(
                tx,
                [
                    (u, f"c{i}", "chat.send", f"{u}-{i}".encode(), 0)
                    for u in (1, 2)
                    for i in range(50)
                ],
            )
            found = await repo.lookup_many(tx, [(1, "c3"), (2, "c3"), (1, "nope"), (3, "c3")])
            assert found == {
                (1, "c3"): StoredResult("chat.send", b"1-3"),
                (2, "c3"): StoredResult("chat.send", b"2-3"),
            }
            assert await repo.lookup_many(tx, []) == {}
            # The query's plan searches the primary key per wanted key; it never scans the
            # table (which holds every client_id ever used).
            sql = IdempotencyRepository.LOOKUP_MANY_SQL.format(values="(?, ?)")
            async with tx.execute("EXPLAIN QUERY PLAN " + sql, (1, "c3")) as cur:
                plan = " | ".join(row[3] for row in await cur.fetchall())
            assert "SCAN idempotency_keys" not in plan and "SCAN k" not in plan, plan
            assert "SEARCH k USING" in plan, plan
    finally:
        await db.close()
