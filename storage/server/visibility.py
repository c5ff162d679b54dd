"""Whose posts a reader may see: the one rule of locked accounts, and the follow requests a
locked account answers.

A post is visible to a reader when its author is not locked, is the reader, or is followed by
the reader. Only an approved follow counts: a request waiting in `follow_requests` is not one.
The rule reads the author's lock as it is now, so posts written before an account was locked
become followers-only with it (and public again when it is unlocked).

Every reader of posts goes through here: `SocialServices.views()` drops what `hidden_authors()`
names (timelines, threads, search, notifications all hydrate there), and queries that must
filter while they page or count (search, trending, attachments) add `author_visible()` to
their SQL. `can_see()` is the same rule in Python, for the handlers and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.database import Handle, marks


def can_see(reader_id: int, author_id: int, *, locked: bool, follows: bool) -> bool:
    """The rule: `follows` is whether the reader has an approved follow of the author."""
    return not locked or reader_id == author_id or follows


def author_visible(author: str, reader: str) -> str:
    """SQL that is true when the posts of `author` (an SQL expression for a user id) are
    visible to `reader` (another SQL expression, e.g. a column or a bound `?`; it appears
    twice, so a `?` is bound twice)."""
    return (
        f"(NOT EXISTS (SELECT 1 FROM profiles lk WHERE lk.user_id = {author} AND lk.locked = 1)"
        f" OR {author} = {reader}"
        " OR EXISTS (SELECT 1 FROM follows vf"
        f" WHERE vf.follower_id = {reader} AND vf.followee_id = {author}))"
    )


EVERY_ROW = (1 << 63) - 1  # a LIMIT both engines read as "no limit"


@dataclass(frozen=True, slots=True)
class FollowRequest:
    requester_id: int
    requester: str
    display_name: str
    created_at: int


class VisibilityRepository:
    # ------------------------------------------------------------------ the rule
    async def hidden_authors(
        self, conn: Handle, reader_id: int, author_ids: Iterable[int]
    ) -> set[int]:
        """Which of these authors' posts the reader may not see."""
        wanted = [a for a in dict.fromkeys(author_ids) if a != reader_id]
        if not wanted:
            return set()
        in_list = marks(wanted)
        async with conn.execute(
            f"SELECT p.user_id FROM profiles p WHERE p.user_id IN ({in_list}) AND p.locked = 1"
            " AND NOT EXISTS (SELECT 1 FROM follows f"
            "  WHERE f.follower_id = ? AND f.followee_id = p.user_id)",
            (*wanted, reader_id),
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    async def may_see(self, conn: Handle, reader_id: int, author_id: int) -> bool:
        return not await self.hidden_authors(conn, reader_id, [author_id])

    async def is_locked(self, conn: Handle, user_id: int) -> bool:
        async with conn.execute("SELECT locked FROM profiles WHERE user_id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        return bool(row and row[0])

    async def set_locked(self, tx: Handle, user_id: int, locked: bool) -> bool:
        """False when it already was so."""
        cur = await tx.execute(
            "UPDATE profiles SET locked = ? WHERE user_id = ? AND locked != ?",
            (int(locked), user_id, int(locked)),
        )
        return bool(cur.rowcount)

    # ------------------------------------------------------------------ follow requests
    async def request(self, tx: Handle, requester_id: int, target_id: int, now: int) -> bool:
        """False when the request was already waiting."""
        cur = await tx.execute(
            "INSERT INTO follow_requests (target_id, requester_id, created_at)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (target_id, requester_id, now),
        )
        return bool(cur.rowcount)

    async def withdraw(self, tx: Handle, requester_id: int, target_id: int) -> bool:
        """Drop a waiting request (cancelled, approved or declined); False if there was none."""
        cur = await tx.execute(
            "DELETE FROM follow_requests WHERE target_id = ? AND requester_id = ?",
            (target_id, requester_id),
        )
        return bool(cur.rowcount)

    async def is_requested(self, conn: Handle, requester_id: int, target_id: int) -> bool:
        async with conn.execute(
            "SELECT 1 FROM follow_requests WHERE target_id = ? AND requester_id = ?",
            (target_id, requester_id),
        ) as cur:
            return await cur.fetchone() is not None

    async def requests_to(
        self, conn: Handle, target_id: int, limit: int | None
    ) -> list[FollowRequest]:
        """Requests waiting for `target_id`'s answer, oldest first; `limit=None`: all of them
        (not SQLite's LIMIT -1, which PostgreSQL refuses)."""
        async with conn.execute(
            "SELECT r.requester_id, u.username, p.display_name, r.created_at"
            " FROM follow_requests r JOIN users u ON u.id = r.requester_id"
            " JOIN profiles p ON p.user_id = r.requester_id"
            " WHERE r.target_id = ? ORDER BY r.created_at, u.username LIMIT ?",
            (target_id, EVERY_ROW if limit is None else limit),
        ) as cur:
            return [FollowRequest(*row) for row in await cur.fetchall()]
