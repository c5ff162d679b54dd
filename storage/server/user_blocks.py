"""Whom each user has blocked or muted: the two private lists, and the questions the rules
ask of them (what a reader hides, whether two people are blocked either way, who hides an
author). The rules themselves are in `server/social/block_rules.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from storage.database import Handle, marks

ListKind = Literal["block", "mute"]
_TABLES: dict[str, str] = {"block": "user_blocks", "mute": "user_mutes"}


@dataclass(frozen=True, slots=True)
class ListedUser:
    username: str
    display_name: str
    since: int  # ms


@dataclass(frozen=True, slots=True)
class Hiding:
    """What one reader hides: whom they blocked and whom they muted."""

    blocked: frozenset[int] = frozenset()
    muted: frozenset[int] = frozenset()

    @property
    def anyone(self) -> frozenset[int]:
        return self.blocked | self.muted


@dataclass(frozen=True, slots=True)
class Between:
    """The blocks between two people, `me` and `other`, and whether `me` muted `other`."""

    i_block: bool = False
    blocks_me: bool = False
    i_mute: bool = False


@dataclass(frozen=True, slots=True)
class DirectBlock:
    """A direct conversation whose two members are blocked one way or both."""

    conversation_id: int
    blocker_id: int
    blocked_id: int
    blocker: str
    blocked: str


class UserBlockRepository:
    # ------------------------------------------------------------------ writing
    async def add(self, tx: Handle, kind: ListKind, user_id: int, target_id: int, now: int) -> bool:
        """False when `target_id` was on the list already (the first date is kept)."""
        cur = await tx.execute(
            f"INSERT INTO {_TABLES[kind]} (user_id, target_id, created_at)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (user_id, target_id, now),
        )
        return bool(cur.rowcount)

    async def remove(self, tx: Handle, kind: ListKind, user_id: int, target_id: int) -> bool:
        cur = await tx.execute(
            f"DELETE FROM {_TABLES[kind]} WHERE user_id = ? AND target_id = ?",
            (user_id, target_id),
        )
        return bool(cur.rowcount)

    # ------------------------------------------------------------------ reading
    async def listed(
        self, conn: Handle, kind: ListKind, user_id: int, limit: int
    ) -> list[ListedUser]:
        async with conn.execute(
            f"SELECT u.username, p.display_name, b.created_at FROM {_TABLES[kind]} b"
            " JOIN users u ON u.id = b.target_id JOIN profiles p ON p.user_id = u.id"
            " WHERE b.user_id = ? ORDER BY b.created_at DESC, u.username LIMIT ?",
            (user_id, limit),
        ) as cur:
            return [ListedUser(*row) for row in await cur.fetchall()]

    async def hiding(self, conn: Handle, user_id: int) -> Hiding:
        async with conn.execute(
            "SELECT 'block', target_id FROM user_blocks WHERE user_id = ?"
            " UNION ALL SELECT 'mute', target_id FROM user_mutes WHERE user_id = ?",
            (user_id, user_id),
        ) as cur:
            rows = await cur.fetchall()
        return Hiding(
            frozenset(t for k, t in rows if k == "block"),
            frozenset(t for k, t in rows if k == "mute"),
        )

    async def between(self, conn: Handle, me: int, other: int) -> Between:
        async with conn.execute(
            "SELECT EXISTS (SELECT 1 FROM user_blocks WHERE user_id = ? AND target_id = ?),"
            " EXISTS (SELECT 1 FROM user_blocks WHERE user_id = ? AND target_id = ?),"
            " EXISTS (SELECT 1 FROM user_mutes WHERE user_id = ? AND target_id = ?)",
            (me, other, other, me, me, other),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return Between(bool(row[0]), bool(row[1]), bool(row[2]))

    async def hiders(self, conn: Handle, author_ids: Iterable[int]) -> set[int]:
        """Everyone who blocked or muted any of these authors."""
        ids = sorted(set(author_ids))
        if not ids:
            return set()
        in_list = marks(ids)
        async with conn.execute(
            f"SELECT user_id FROM user_blocks WHERE target_id IN ({in_list})"
            f" UNION SELECT user_id FROM user_mutes WHERE target_id IN ({in_list})",
            [*ids, *ids],
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    async def blockers_of(self, conn: Handle, user_id: int, among: Iterable[int]) -> set[int]:
        """Those of `among` who blocked `user_id`."""
        ids = sorted(set(among))
        if not ids:
            return set()
        in_list = marks(ids)
        async with conn.execute(
            f"SELECT user_id FROM user_blocks WHERE target_id = ? AND user_id IN ({in_list})",
            [user_id, *ids],
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    async def blocked_either(self, conn: Handle, user_id: int, among: Iterable[int]) -> set[int]:
        """Those of `among` whom `user_id` blocked or who blocked `user_id`."""
        ids = sorted(set(among))
        if not ids:
            return set()
        in_list = marks(ids)
        async with conn.execute(
            f"SELECT target_id FROM user_blocks WHERE user_id = ? AND target_id IN ({in_list})"
            " UNION SELECT user_id FROM user_blocks"
            f" WHERE target_id = ? AND user_id IN ({in_list})",
            [user_id, *ids, user_id, *ids],
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    async def direct_blocks(
        self, conn: Handle, conversation_ids: Iterable[int]
    ) -> list[DirectBlock]:
        """The direct conversations among these whose members are blocked one way or both
        (for the send path's group commit)."""
        ids = sorted(set(conversation_ids))
        if not ids:
            return []
        async with conn.execute(DIRECT_BLOCKS.format(marks=marks(ids)), ids) as cur:
            return [DirectBlock(*row) for row in await cur.fetchall()]


DIRECT_BLOCKS = (
    "SELECT c.id, b.user_id, b.target_id, ua.username, ub.username"
    " FROM conversations c"
    " JOIN conversation_members m ON m.conversation_id = c.id"
    " JOIN user_blocks b ON b.user_id = m.user_id"
    " JOIN conversation_members o ON o.conversation_id = c.id AND o.user_id = b.target_id"
    " JOIN users ua ON ua.id = b.user_id JOIN users ub ON ub.id = b.target_id"
    " WHERE c.kind = 'direct' AND c.id IN ({marks})"
)
