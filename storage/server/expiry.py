"""Forgetting what waits too long: block uploads and staged block lists that no commit used,
and idempotency keys older than the window in which clients replay their writes.

An expired upload stops counting against its uploader's uncommitted bytes (its block, if
nothing uses it, is deleted by the next `roost admin gc`); a commit naming it afterwards
gets `not_found` and the client uploads it again. An expired staged list is gone: a commit
naming its `upload_id` finds no blocks. An expired idempotency key makes a replay of its
write run again. The server runs this every few minutes (server/expiry.py), and `roost
admin gc` runs it too, so a server that was down for a while catches up.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
UPLOAD_AGE_MS = 24 * HOUR_MS  # an upload or a staged list waits this long for its commit
IDEMPOTENCY_AGE_MS = 30 * DAY_MS  # a replay within this finds the first result
EXPIRE_BATCH = 5000  # rows forgotten per transaction: a running server's writes wait for each


@dataclass(frozen=True)
class Ages:
    uploads_ms: int = UPLOAD_AGE_MS
    idempotency_ms: int = IDEMPOTENCY_AGE_MS


@dataclass(frozen=True)
class Expired:
    uploads: int
    staged: int
    idempotency_keys: int
    announced: int = 0

    def __bool__(self) -> bool:
        return bool(self.uploads or self.staged or self.idempotency_keys or self.announced)


async def expire(db: Database, now_ms: int, ages: Ages = Ages()) -> Expired:
    """Forget every upload record and staged row older than `ages.uploads_ms` and every
    idempotency key older than `ages.idempotency_ms`, as of `now_ms`."""
    return Expired(
        await _forget_older(db, "block_uploads", now_ms - ages.uploads_ms),
        await _forget_older(db, "staged_blocks", now_ms - ages.uploads_ms),
        await _forget_older(db, "idempotency_keys", now_ms - ages.idempotency_ms),
        # a file announced by a server process that died before its commit or withdrawal
        await _forget_older(db, "announced_uploads", now_ms - ages.uploads_ms),
    )


async def _forget_older(db: Database, table: str, before_ms: int) -> int:
    """Delete the rows of `table` created before `before_ms`, in short transactions (each
    table has an index on created_at: the "storage use" migration)."""
    # Each engine names a row by its own physical id: SQLite's rowid, PostgreSQL's ctid (both
    # stable for the length of one statement, which is all a batch needs).
    row_id = "ctid" if db.engine == "postgresql" else "rowid"
    forgotten = 0
    while True:
        async with db.write() as tx:
            cur = await tx.execute(
                f"DELETE FROM {table} WHERE {row_id} IN"
                f" (SELECT {row_id} FROM {table} WHERE created_at < ? LIMIT ?)",
                (before_ms, EXPIRE_BATCH),
            )
            count = cur.rowcount
        forgotten += count
        if count < EXPIRE_BATCH:
            return forgotten
