"""Idempotency keys: the first result of each (user, client_id) write, kept so a replay returns it.

Lookup and record happen inside the write's own transaction, so a key exists exactly when the
write it names was committed.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class StoredResult:
    op: str
    result: bytes


class IdempotencyRepository:
    async def lookup(
        self, tx: aiosqlite.Connection, user_id: int, client_id: str
    ) -> StoredResult | None:
        async with tx.execute(
            "SELECT op, result FROM idempotency_keys WHERE user_id = ? AND client_id = ?",
            (user_id, client_id),
        ) as cur:
            row = await cur.fetchone()
        return StoredResult(row[0], bytes(row[1])) if row else None

    async def record(
        self,
        tx: aiosqlite.Connection,
        user_id: int,
        client_id: str,
        op: str,
        result: bytes,
        now: int,
    ) -> None:
        await tx.execute(
            "INSERT INTO idempotency_keys (user_id, client_id, op, result, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (user_id, client_id, op, result, now),
        )
