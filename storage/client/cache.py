"""The client's cache: the last server answer for each (kind, key), shown when offline."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database, now_ms


@dataclass(frozen=True, slots=True)
class Cached:
    value: bytes  # JSON as the server sent it
    updated_at: int


class CacheRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, kind: str, key: str, value: bytes) -> None:
        async with self._db.write() as tx:
            await tx.execute(
                "INSERT INTO cache (kind, key, value, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (kind, key, value, now_ms()),
            )

    async def get(self, kind: str, key: str) -> Cached | None:
        async with self._db.reader.execute(
            "SELECT value, updated_at FROM cache WHERE kind = ? AND key = ?", (kind, key)
        ) as cur:
            row = await cur.fetchone()
        return Cached(bytes(row[0]), int(row[1])) if row else None

    async def keys(self, kind: str) -> list[str]:
        """Every key cached for one kind of read (e.g. each page size of a timeline)."""
        async with self._db.reader.execute("SELECT key FROM cache WHERE kind = ?", (kind,)) as cur:
            return [str(row[0]) for row in await cur.fetchall()]

    async def all_of(self, kind: str) -> list[tuple[str, Cached]]:
        """Every cached answer of one kind with its key, newest first (offline reads that
        piece an answer together from what was cached for other arguments)."""
        async with self._db.reader.execute(
            "SELECT key, value, updated_at FROM cache WHERE kind = ? ORDER BY updated_at DESC",
            (kind,),
        ) as cur:
            rows = await cur.fetchall()
        return [(str(r[0]), Cached(bytes(r[1]), int(r[2]))) for r in rows]
