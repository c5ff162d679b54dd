"""Snowflake node ids leased from the database: two server processes on one database never
mint the same id, because each holds a node id no other live process holds.

A lease lasts `ttl` ms from its last renewal; a process renews well before that and releases
its lease on exit. A process that died without releasing frees its node id when the lease
expires. Two processes taking a lease at once may pick the same free id: the primary key
refuses the second, which tries the next free one.
"""

from __future__ import annotations

from protocol.ids import MAX_NODE
from storage.database import Database
from storage.errors import StorageError, UniqueViolation


class NodeIdsExhausted(StorageError):
    pass


class NodeLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(self, holder: str, now: int, ttl: int) -> int:
        """The lowest node id free at `now`, leased to `holder` until `now + ttl`."""
        for _ in range(MAX_NODE + 1):
            try:
                async with self._db.write() as tx:
                    await tx.execute("DELETE FROM node_leases WHERE expires_at <= ?", (now,))
                    async with tx.execute("SELECT node_id FROM node_leases") as cur:
                        taken = {row[0] for row in await cur.fetchall()}
                    free = next((n for n in range(MAX_NODE + 1) if n not in taken), None)
                    if free is None:
                        raise NodeIdsExhausted(
                            f"all {MAX_NODE + 1} node ids are leased by running servers"
                        )
                    await tx.execute(
                        "INSERT INTO node_leases (node_id, holder, expires_at) VALUES (?, ?, ?)",
                        (free, holder, now + ttl),
                    )
                    return free
            except UniqueViolation:
                continue  # another process took it in the meantime: look again
        raise NodeIdsExhausted("could not lease a node id")

    async def renew(self, node_id: int, holder: str, now: int, ttl: int) -> bool:
        """False if the lease is no longer this holder's (it expired and was taken)."""
        async with self._db.write() as tx:
            cur = await tx.execute(
                "UPDATE node_leases SET expires_at = ? WHERE node_id = ? AND holder = ?",
                (now + ttl, node_id, holder),
            )
            return cur.rowcount == 1

    async def release(self, node_id: int, holder: str) -> None:
        async with self._db.write() as tx:
            await tx.execute(
                "DELETE FROM node_leases WHERE node_id = ? AND holder = ?", (node_id, holder)
            )

    async def held(self) -> list[tuple[int, str, int]]:
        async with self._db.reader.execute(
            "SELECT node_id, holder, expires_at FROM node_leases ORDER BY node_id"
        ) as cur:
            return [(row[0], row[1], row[2]) for row in await cur.fetchall()]
