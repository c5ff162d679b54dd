"""Invite codes for registering on an invite-only server. Only a code's SHA-256 is stored; its
short id (the part before the dash) is kept plain, so an admin can list and revoke a code
without having it."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database, Handle
from storage.errors import Duplicate, UniqueViolation

_COLUMNS = "i.id, i.code_hash, u.username, i.created_at, i.expires_at, i.uses, i.used, i.revoked_at"


@dataclass(frozen=True, slots=True)
class InviteRecord:
    id: str
    code_hash: str
    created_by: str | None  # None: that admin's account is gone
    created_at: int
    expires_at: int | None
    uses: int
    used: int
    revoked_at: int | None


class InviteRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        tx: Handle,
        invite_id: str,
        code_hash: str,
        created_by: int,
        now: int,
        expires_at: int | None,
        uses: int,
    ) -> None:
        try:
            await tx.execute(
                "INSERT INTO invites (id, code_hash, created_by, created_at, expires_at, uses)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (invite_id, code_hash, created_by, now, expires_at, uses),
            )
        except UniqueViolation as exc:
            raise Duplicate(invite_id) from exc

    async def use(self, tx: Handle, code_hash: str, now: int) -> bool:
        """Spend one use of a live code, in the registration's own transaction: one statement
        that checks and counts, so two registrations racing for a last use cannot both get it."""
        cur = await tx.execute(
            "UPDATE invites SET used = used + 1 WHERE code_hash = ? AND used < uses"
            " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
            (code_hash, now),
        )
        return cur.rowcount == 1

    async def by_hash(self, conn: Handle, code_hash: str) -> InviteRecord | None:
        return await self._one(conn, "i.code_hash = ?", code_hash)

    async def by_id(self, conn: Handle, invite_id: str) -> InviteRecord | None:
        return await self._one(conn, "i.id = ?", invite_id)

    async def _one(self, conn: Handle, where: str, value: str) -> InviteRecord | None:
        async with conn.execute(
            f"SELECT {_COLUMNS} FROM invites i LEFT JOIN users u ON u.id = i.created_by"
            f" WHERE {where}",
            (value,),
        ) as cur:
            row = await cur.fetchone()
        return InviteRecord(*row) if row else None

    async def all(self) -> list[InviteRecord]:
        async with self._db.reader.execute(
            f"SELECT {_COLUMNS} FROM invites i LEFT JOIN users u ON u.id = i.created_by"
            " ORDER BY i.created_at DESC, i.id"
        ) as cur:
            rows = await cur.fetchall()
        return [InviteRecord(*row) for row in rows]

    async def revoke(self, tx: Handle, invite_id: str, now: int) -> None:
        await tx.execute(
            "UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (now, invite_id),
        )
