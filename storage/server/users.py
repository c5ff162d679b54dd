"""Usernames and user ids: the one place either is looked up from the other. A deleted
account keeps its row (a tombstone) and its name stays taken, but the name is nobody's: a
look-up by name skips it. A look-up by id still names it (what others kept shows who wrote it).
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.database import Handle, marks


class UserDirectory:
    async def id_of(self, conn: Handle, username: str) -> int | None:
        async with conn.execute(
            "SELECT id FROM users WHERE username = ? AND deleted_at IS NULL", (username.lower(),)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def ids_of(self, conn: Handle, usernames: Iterable[str]) -> dict[str, int]:
        names = sorted(set(usernames))
        if not names:
            return {}
        async with conn.execute(
            f"SELECT username, id FROM users WHERE username IN ({marks(names)})"
            " AND deleted_at IS NULL",
            names,
        ) as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}

    async def names_of(self, conn: Handle, user_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        async with conn.execute(
            f"SELECT id, username FROM users WHERE id IN ({marks(ids)})", ids
        ) as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}
