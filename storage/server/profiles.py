"""Profiles: display name and bio, one row per user."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database, Handle


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    user_id: int
    username: str
    display_name: str
    bio: str
    created_at: int
    updated_at: int
    locked: bool = False


_SELECT = (
    "SELECT u.id, u.username, p.display_name, p.bio, u.created_at, p.updated_at, p.locked"
    " FROM profiles p JOIN users u ON u.id = p.user_id"
)


class ProfileRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def by_username(self, username: str) -> ProfileRecord | None:
        return await self._one(self._db.reader, " WHERE u.username = ?", username)

    async def by_user_id(self, conn: Handle, user_id: int) -> ProfileRecord | None:
        return await self._one(conn, " WHERE u.id = ?", user_id)

    async def update(
        self,
        tx: Handle,
        user_id: int,
        *,
        display_name: str | None,
        bio: str | None,
        now: int,
    ) -> ProfileRecord:
        await tx.execute(
            "UPDATE profiles SET display_name = COALESCE(?, display_name),"
            " bio = COALESCE(?, bio), updated_at = ? WHERE user_id = ?",
            (display_name, bio, now, user_id),
        )
        record = await self.by_user_id(tx, user_id)
        assert record is not None, "every user has a profile row"
        return record

    async def _one(self, conn: Handle, where: str, key: object) -> ProfileRecord | None:
        async with conn.execute(_SELECT + where, (key,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        user_id, username, display_name, bio, created_at, updated_at, locked = row
        return ProfileRecord(
            user_id, username, display_name, bio, created_at, updated_at, bool(locked)
        )
