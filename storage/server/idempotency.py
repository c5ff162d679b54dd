"""Idempotency keys: the first result of each (user, client_id) write, kept so a replay returns it.

Lookup and record happen inside the write's own transaction, so a key exists exactly when the
write it names was committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.database import Handle


@dataclass(frozen=True, slots=True)
class StoredResult:
    op: str
    result: bytes


class IdempotencyRepository:
    # A join from the wanted keys, so each is one primary-key search: SQLite plans
    # `(user_id, client_id) IN (VALUES ...)` as a scan of the whole table (25 ms at 200k keys).
    LOOKUP_MANY_SQL = (
        "WITH wanted(user_id, client_id) AS (VALUES {values})"
        " SELECT k.user_id, k.client_id, k.op, k.result"
        " FROM wanted CROSS JOIN idempotency_keys AS k"
        " ON k.user_id = wanted.user_id AND k.client_id = wanted.client_id"
    )

    async def lookup(self, tx: Handle, user_id: int, client_id: str) -> StoredResult | None:
        if tx.engine == "postgresql":
            # A write and its replay at once (a client retrying on a new connection) would
            # both find no key beside each other, both run, and the second fail on the key's
            # insert: they take turns on the key instead, so the second finds the first's
            # result once it has committed, as it does behind SQLite's one writer.
            await tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (f"{user_id}:{client_id}",)
            )
        async with tx.execute(
            "SELECT op, result FROM idempotency_keys WHERE user_id = ? AND client_id = ?",
            (user_id, client_id),
        ) as cur:
            row = await cur.fetchone()
        return StoredResult(row[0], bytes(row[1])) if row else None

    async def record(
        self,
        tx: Handle,
        user_id: int,
        client_id: str,
        op: str,
        result: bytes,
        now: int,
    ) -> None:
        await tx.execute(RECORD, (user_id, client_id, op, result, now))

    async def lookup_many(
        self, tx: Handle, keys: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], StoredResult]:
        """Several (user_id, client_id) keys in one query (for batched writes)."""
        if not keys:
            return {}
        async with tx.execute(*lookup_many_query(keys, tx.engine)) as cur:
            rows = await cur.fetchall()
        return {(row[0], row[1]): StoredResult(row[2], bytes(row[3])) for row in rows}

    async def record_many(
        self, tx: Handle, records: Sequence[tuple[int, str, str, bytes, int]]
    ) -> None:
        """(user_id, client_id, op, result, now) rows in one statement."""
        await tx.executemany(RECORD, records)


RECORD = (
    "INSERT INTO idempotency_keys (user_id, client_id, op, result, created_at)"
    " VALUES (?, ?, ?, ?, ?)"
)


def lookup_many_query(
    keys: Sequence[tuple[int, str]], engine: str = "sqlite"
) -> tuple[str, list[object]]:
    # PostgreSQL reads an untyped VALUES parameter as text, which no bigint column equals.
    row = "(?, ?)" if engine == "sqlite" else "(CAST(? AS BIGINT), ?)"
    values = ",".join(row for _ in keys)
    params: list[object] = [part for key in keys for part in key]
    sql = IdempotencyRepository.LOOKUP_MANY_SQL.format(values=values)
    if engine != "sqlite":  # CROSS JOIN fixes SQLite's join order; PostgreSQL takes no ON after it
        sql = sql.replace("CROSS JOIN", "JOIN")
    return sql, params
