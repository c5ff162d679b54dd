"""Notifications (mention, reply, like, repost, follow) and each user's read marker."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Handle


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: int
    user_id: int
    kind: str
    actor_id: int
    actor: str
    post_id: int | None
    created_at: int


# Notifications from someone the recipient blocked or muted are not shown (nor counted); those
# made before the block come back if it is undone.
_SHOWN = (
    " AND n.actor_id NOT IN (SELECT target_id FROM user_blocks WHERE user_id = n.user_id)"
    " AND n.actor_id NOT IN (SELECT target_id FROM user_mutes WHERE user_id = n.user_id)"
)

_SELECT = (
    "SELECT n.id, n.user_id, n.kind, n.actor_id, u.username, n.post_id, n.created_at"
    " FROM notifications n JOIN users u ON u.id = n.actor_id"
)


class NotificationRepository:
    async def add(
        self,
        tx: Handle,
        notification_id: int,
        user_id: int,
        kind: str,
        actor_id: int,
        post_id: int | None,
        now: int,
    ) -> NotificationRecord:
        await tx.execute(
            "INSERT INTO notifications (id, user_id, kind, actor_id, post_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (notification_id, user_id, kind, actor_id, post_id, now),
        )
        async with tx.execute(_SELECT + " WHERE n.id = ?", (notification_id,)) as cur:
            row = await cur.fetchone()
        assert row is not None
        return NotificationRecord(*row)

    async def remove(
        self, tx: Handle, user_id: int, kind: str, actor_id: int, post_id: int | None
    ) -> None:
        # `post_id IS ?` is SQLite's; PostgreSQL would need IS NOT DISTINCT FROM: two texts
        # that both engines speak instead.
        if post_id is None:
            await tx.execute(
                "DELETE FROM notifications WHERE user_id = ? AND kind = ? AND actor_id = ?"
                " AND post_id IS NULL",
                (user_id, kind, actor_id),
            )
        else:
            await tx.execute(
                "DELETE FROM notifications WHERE user_id = ? AND kind = ? AND actor_id = ?"
                " AND post_id = ?",
                (user_id, kind, actor_id, post_id),
            )

    async def page(
        self, conn: Handle, user_id: int, before: int | None, limit: int
    ) -> list[NotificationRecord]:
        async with conn.execute(
            _SELECT + " WHERE n.user_id = ? AND n.id < ?" + _SHOWN + " ORDER BY n.id DESC LIMIT ?",
            (user_id, before if before is not None else (1 << 63) - 1, limit),
        ) as cur:
            return [NotificationRecord(*row) for row in await cur.fetchall()]

    async def read_up_to(self, conn: Handle, user_id: int) -> int | None:
        async with conn.execute(
            "SELECT read_up_to FROM notification_marks WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def unread_count(self, conn: Handle, user_id: int, read_up_to: int | None) -> int:
        async with conn.execute(
            "SELECT COUNT(*) FROM notifications n WHERE n.user_id = ? AND n.id > ?" + _SHOWN,
            (user_id, read_up_to or 0),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def newest_id(self, conn: Handle, user_id: int) -> int | None:
        async with conn.execute(
            "SELECT MAX(id) FROM notifications WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    async def mark_read(self, tx: Handle, user_id: int, up_to: int) -> None:
        """The marker only moves forward: a late replay of an older marker changes nothing."""
        await tx.execute(
            # Not MAX(a, b), which PostgreSQL lacks: the WHERE keeps the newer marker.
            "INSERT INTO notification_marks (user_id, read_up_to) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET read_up_to = excluded.read_up_to"
            " WHERE excluded.read_up_to > notification_marks.read_up_to",
            (user_id, up_to),
        )
