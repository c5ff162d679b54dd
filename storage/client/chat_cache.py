"""The client's chat store: messages as the server sent them (by conversation and seq), the
catch-up cursor of each conversation, and which conversation a `@user` target names."""

from __future__ import annotations

from collections.abc import Sequence

from storage.database import Database


class ChatCacheRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put_messages(self, rows: Sequence[tuple[str, int, bytes]]) -> None:
        """(conversation, seq, JSON body); a seq is immutable, so a repeat changes nothing."""
        if not rows:
            return
        async with self._db.write() as tx:
            await tx.executemany(
                "INSERT INTO chat_messages (conversation, seq, body) VALUES (?, ?, ?)"
                " ON CONFLICT (conversation, seq) DO NOTHING",
                rows,
            )

    async def page(
        self, conversation: str, *, before: int | None, limit: int
    ) -> tuple[list[bytes], bool]:
        """Up to `limit` cached messages before `before`, oldest first; and whether older
        cached ones exist."""
        async with self._db.reader.execute(
            "SELECT body FROM chat_messages WHERE conversation = ? AND seq < ?"
            " ORDER BY seq DESC LIMIT ?",
            (conversation, 2**62 if before is None else before, limit + 1),
        ) as cur:
            rows = list(await cur.fetchall())
        return [bytes(row[0]) for row in reversed(rows[:limit])], len(rows) > limit

    async def cursors(self) -> dict[str, int]:
        async with self._db.reader.execute("SELECT conversation, seq FROM chat_cursors") as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}

    async def advance_cursors(self, cursors: dict[str, int]) -> None:
        """Move catch-up cursors forward (never back)."""
        if not cursors:
            return
        async with self._db.write() as tx:
            await tx.executemany(
                "INSERT INTO chat_cursors (conversation, seq) VALUES (?, ?)"
                " ON CONFLICT (conversation) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                list(cursors.items()),
            )

    async def remember_target(self, target: str, conversation: str) -> None:
        async with self._db.write() as tx:
            await tx.execute(
                "INSERT INTO chat_targets (target, conversation) VALUES (?, ?)"
                " ON CONFLICT (target) DO UPDATE SET conversation = excluded.conversation",
                (target, conversation),
            )

    async def conversation_for(self, target: str) -> str | None:
        async with self._db.reader.execute(
            "SELECT conversation FROM chat_targets WHERE target = ?", (target,)
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None
