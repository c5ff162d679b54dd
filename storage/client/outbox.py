"""The client's outbox table: writes made while the server was unreachable, in the order made."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database, now_ms


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int
    client_id: str
    op: str
    args: bytes  # JSON, including client_id
    created_at: int
    attempts: int
    failed_code: str | None
    failed_message: str | None
    refs: str | None = None  # JSON {arg name: local id} to swap for server ids on replay

    @property
    def failed(self) -> bool:
        return self.failed_code is not None


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, client_id: str, op: str, args: bytes, refs: str | None = None
    ) -> OutboxEntry:
        now = now_ms()
        async with self._db.write() as tx:
            # A retry of the same write (same client_id) keeps its first place in the queue.
            await tx.execute(
                "INSERT INTO outbox (client_id, op, args, created_at, refs) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (client_id) DO NOTHING",
                (client_id, op, args, now, refs),
            )
        entry = await self.get(client_id)
        assert entry is not None
        return entry

    async def get(self, client_id: str) -> OutboxEntry | None:
        async with self._db.reader.execute(_SELECT + " WHERE client_id = ?", (client_id,)) as cur:
            row = await cur.fetchone()
        return OutboxEntry(*row) if row else None

    async def entries(self, *, include_failed: bool = True) -> list[OutboxEntry]:
        where = "" if include_failed else " WHERE failed_code IS NULL"
        async with self._db.reader.execute(_SELECT + where + " ORDER BY seq") as cur:
            rows = await cur.fetchall()
        return [OutboxEntry(*row) for row in rows]

    async def mark_attempt(self, seq: int) -> None:
        async with self._db.write() as tx:
            await tx.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (seq,))

    async def mark_failed(self, seq: int, code: str, message: str) -> None:
        async with self._db.write() as tx:
            await tx.execute(
                "UPDATE outbox SET failed_code = ?, failed_message = ? WHERE seq = ?",
                (code, message, seq),
            )

    async def remove(self, seq: int) -> None:
        async with self._db.write() as tx:
            await tx.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    async def get_seq(self, seq: int) -> OutboxEntry | None:
        async with self._db.reader.execute(_SELECT + " WHERE seq = ?", (seq,)) as cur:
            row = await cur.fetchone()
        return OutboxEntry(*row) if row else None

    async def remember_id(self, local_id: str, server_id: str) -> None:
        """A replayed entry created something: later entries naming `local_id` mean this."""
        async with self._db.write() as tx:
            await tx.execute(
                "INSERT INTO outbox_ids (local_id, server_id, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (local_id) DO UPDATE SET server_id = excluded.server_id",
                (local_id, server_id, now_ms()),
            )

    async def server_id(self, local_id: str) -> str | None:
        async with self._db.reader.execute(
            "SELECT server_id FROM outbox_ids WHERE local_id = ?", (local_id,)
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def count(self) -> int:
        async with self._db.reader.execute("SELECT COUNT(*) FROM outbox") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


_SELECT = (
    "SELECT seq, client_id, op, args, created_at, attempts, failed_code, failed_message, refs"
    " FROM outbox"
)
