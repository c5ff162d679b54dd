"""Who follows whom, with the per-user counters (followers, following, posts) kept beside it,
profiles with those counts and friends-of-friends suggestions (searching people is
storage/server/search.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.database import Handle, marks


@dataclass(frozen=True, slots=True)
class UserSummary:
    id: int
    username: str
    display_name: str
    followers: int
    following: int


@dataclass(frozen=True, slots=True)
class UserStats:
    id: int
    username: str
    display_name: str
    bio: str
    created_at: int
    followers: int
    following: int
    posts: int


@dataclass(frozen=True, slots=True)
class SuggestionRecord:
    user: UserSummary
    mutuals: int
    followed_by: list[str]


_SUMMARY = (
    "SELECT u.id, u.username, p.display_name, s.followers, s.following FROM users u"
    " JOIN profiles p ON p.user_id = u.id JOIN social_stats s ON s.user_id = u.id"
)


class FollowRepository:
    async def stats(self, conn: Handle, user_id: int) -> UserStats | None:
        async with conn.execute(
            "SELECT u.id, u.username, p.display_name, p.bio, u.created_at, s.followers,"
            " s.following, s.posts FROM users u JOIN profiles p ON p.user_id = u.id"
            " JOIN social_stats s ON s.user_id = u.id WHERE u.id = ?",
            (user_id,),
        ) as cur:
            row = await cur.fetchone()
        return UserStats(*row) if row else None

    async def follower_count(self, conn: Handle, user_id: int) -> int:
        async with conn.execute(
            "SELECT followers FROM social_stats WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def is_following(self, conn: Handle, follower_id: int, followee_id: int) -> bool:
        async with conn.execute(
            "SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?",
            (follower_id, followee_id),
        ) as cur:
            return await cur.fetchone() is not None

    async def follower_ids(self, conn: Handle, user_id: int) -> list[int]:
        async with conn.execute(
            "SELECT follower_id FROM follows WHERE followee_id = ?", (user_id,)
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def followers(self, conn: Handle, user_id: int, limit: int) -> list[UserSummary]:
        return await self._summaries(
            conn,
            " JOIN follows f ON f.follower_id = u.id WHERE f.followee_id = ?"
            " ORDER BY f.created_at DESC LIMIT ?",
            (user_id, limit),
        )

    async def following(self, conn: Handle, user_id: int, limit: int) -> list[UserSummary]:
        return await self._summaries(
            conn,
            " JOIN follows f ON f.followee_id = u.id WHERE f.follower_id = ?"
            " ORDER BY f.created_at DESC LIMIT ?",
            (user_id, limit),
        )

    async def suggestions(self, conn: Handle, user_id: int, limit: int) -> list[SuggestionRecord]:
        """Friends of friends the user does not follow yet, ranked by how many of the people
        they follow follow them (mutuals), then by follower count. Nobody blocked either way
        is suggested."""
        c = conn
        async with c.execute(
            "SELECT f2.followee_id, COUNT(*) AS mutuals FROM follows f1"
            " JOIN follows f2 ON f2.follower_id = f1.followee_id"
            " JOIN social_stats s ON s.user_id = f2.followee_id"
            " WHERE f1.follower_id = ? AND f2.followee_id != ?"
            " AND NOT EXISTS (SELECT 1 FROM follows f3"
            "   WHERE f3.follower_id = ? AND f3.followee_id = f2.followee_id)"
            " AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE"
            "   (b.user_id = ? AND b.target_id = f2.followee_id)"
            "   OR (b.user_id = f2.followee_id AND b.target_id = ?))"
            # s.followers grouped too: PostgreSQL orders a group only by what it is grouped by.
            " GROUP BY f2.followee_id, s.followers"
            " ORDER BY mutuals DESC, s.followers DESC, f2.followee_id LIMIT ?",
            (user_id, user_id, user_id, user_id, user_id, limit),
        ) as cur:
            ranked = [(row[0], row[1]) for row in await cur.fetchall()]
        if not ranked:
            return []
        in_list = marks(ranked)
        summaries = {
            s.id: s
            for s in await self._summaries(
                conn, f" WHERE u.id IN ({in_list})", [uid for uid, _ in ranked]
            )
        }
        out: list[SuggestionRecord] = []
        for uid, mutuals in ranked:
            async with c.execute(
                "SELECT u.username FROM follows f1 JOIN follows f2"
                " ON f2.follower_id = f1.followee_id JOIN users u ON u.id = f1.followee_id"
                " WHERE f1.follower_id = ? AND f2.followee_id = ? ORDER BY u.username LIMIT 3",
                (user_id, uid),
            ) as cur:
                names = [row[0] for row in await cur.fetchall()]
            out.append(SuggestionRecord(summaries[uid], mutuals, names))
        return out

    async def hold(self, tx: Handle, user_ids: Sequence[int]) -> None:
        """Hold these people's counter rows until the transaction ends, lowest id first, so
        that changes between the same people (follows, requests, blocks, unlocking) take
        turns and see each other's outcome. PostgreSQL runs transactions side by side and
        needs the row locks (FOR UPDATE, which SQLite lacks); SQLite's single writer already
        makes them take turns."""
        if tx.engine != "postgresql":
            return
        for user_id in sorted(set(user_ids)):
            await tx.execute(
                "SELECT user_id FROM social_stats WHERE user_id = ? FOR UPDATE", (user_id,)
            )

    async def follow(self, tx: Handle, follower_id: int, followee_id: int, now: int) -> bool:
        """False when the follow already existed."""
        # A second follow waits for the first's row and then inserts nothing, so only one of
        # two racing follows counts (PostgreSQL runs them side by side).
        cur = await tx.execute(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (follower_id, followee_id, now),
        )
        if cur.rowcount:
            await self._count(tx, follower_id, followee_id, +1)
        return bool(cur.rowcount)

    async def unfollow(self, tx: Handle, follower_id: int, followee_id: int) -> bool:
        cur = await tx.execute(
            "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
            (follower_id, followee_id),
        )
        if cur.rowcount:
            await self._count(tx, follower_id, followee_id, -1)
        return bool(cur.rowcount)

    async def _count(self, tx: Handle, follower_id: int, followee_id: int, delta: int) -> None:
        # The two counter rows are locked lowest user id first: on PostgreSQL, two people
        # following each other at once would otherwise each hold one row and wait for the
        # other's (a deadlock, one op failed).
        updates = [
            (follower_id, "UPDATE social_stats SET following = following + ? WHERE user_id = ?"),
            (followee_id, "UPDATE social_stats SET followers = followers + ? WHERE user_id = ?"),
        ]
        for user_id, sql in sorted(updates):
            await tx.execute(sql, (delta, user_id))

    async def _summaries(
        self, conn: Handle, tail: str, params: Sequence[object]
    ) -> list[UserSummary]:
        async with conn.execute(_SUMMARY + tail, list(params)) as cur:
            return [UserSummary(*row) for row in await cur.fetchall()]
