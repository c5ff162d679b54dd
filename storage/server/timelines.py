"""Home timelines: the per-user list of post ids written at post time (fan-out on write), the
read-time sources for authors whose posts were not fanned out, and the pure fan-out-on-read
query kept as the benchmark's baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.database import Handle

NEWEST = (1 << 63) - 1


class TimelineRepository:
    # ------------------------------------------------------------------ writing
    async def fan_out(
        self, tx: Handle, post_id: int, author_id: int, *, to_followers: bool
    ) -> None:
        """Write a post into its author's timeline and, unless told not to, every follower's."""
        # ON CONFLICT DO NOTHING in place of SQLite's OR IGNORE, which PostgreSQL refuses:
        # SQLite compiles both to the same program (but for a NULL key, which an id never is).
        await tx.execute(
            "INSERT INTO timeline (user_id, post_id, author_id) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (author_id, post_id, author_id),
        )
        if to_followers:
            await tx.execute(
                "INSERT INTO timeline (user_id, post_id, author_id)"
                " SELECT follower_id, ?, ? FROM follows WHERE followee_id = ?"
                " ON CONFLICT DO NOTHING",
                (post_id, author_id, author_id),
            )

    async def backfill(self, tx: Handle, user_id: int, author_id: int, limit: int) -> None:
        """A new follow: the followee's recent fanned-out posts join the follower's timeline
        (their other posts are merged at read time anyway)."""
        await tx.execute(
            "INSERT INTO timeline (user_id, post_id, author_id)"
            " SELECT ?, id, author_id FROM posts WHERE author_id = ? AND fanned_out = 1"
            " AND deleted_at IS NULL ORDER BY id DESC LIMIT ? ON CONFLICT DO NOTHING",
            (user_id, author_id, limit),
        )

    async def remove_author(self, tx: Handle, user_id: int, author_id: int) -> None:
        await tx.execute(
            "DELETE FROM timeline WHERE user_id = ? AND author_id = ?", (user_id, author_id)
        )

    async def remove_posts(self, tx: Handle, post_ids: Sequence[int]) -> None:
        await tx.executemany("DELETE FROM timeline WHERE post_id = ?", [(p,) for p in post_ids])

    # ------------------------------------------------------------------ reading
    async def fanned_ids(
        self, conn: Handle, user_id: int, before: int | None, limit: int
    ) -> list[int]:
        async with conn.execute(
            "SELECT post_id FROM timeline WHERE user_id = ? AND post_id < ?"
            " ORDER BY post_id DESC LIMIT ?",
            (user_id, before if before is not None else NEWEST, limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def pull_sources(self, conn: Handle, user_id: int) -> list[int]:
        """Followees with posts that were not fanned out (accounts over the celebrity
        threshold, now or when they posted): their posts are merged at read time."""
        async with conn.execute(
            "SELECT f.followee_id FROM follows f JOIN social_stats s ON s.user_id = f.followee_id"
            " WHERE f.follower_id = ? AND s.has_unfanned = 1",
            (user_id,),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def unfanned_ids(
        self,
        conn: Handle,
        author_ids: Sequence[int],
        before: int | None,
        limit: int,
    ) -> list[int]:
        """The newest posts of each author that were not fanned out, each author's own index
        range read separately (one LIMIT each), newest first overall."""
        if not author_ids:
            return []
        one = (
            # The alias: PostgreSQL (before 16) wants every subquery in FROM named.
            "SELECT id FROM (SELECT id FROM posts WHERE author_id = ? AND fanned_out = 0"
            " AND deleted_at IS NULL AND id < ? ORDER BY id DESC LIMIT ?) AS newest"
        )
        cursor = before if before is not None else NEWEST
        params: list[int] = []
        for author in author_ids:
            params += [author, cursor, limit]
        sql = " UNION ALL ".join([one] * len(author_ids)) + " ORDER BY id DESC LIMIT ?"
        async with conn.execute(sql, (*params, limit)) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def pull_all_ids(
        self, conn: Handle, user_id: int, before: int | None, limit: int
    ) -> list[int]:
        """The baseline: pure fan-out on read, every followee's posts joined and sorted."""
        async with conn.execute(
            "SELECT p.id FROM posts p WHERE p.deleted_at IS NULL AND p.id < ? AND"
            " (p.author_id = ? OR p.author_id IN"
            " (SELECT followee_id FROM follows WHERE follower_id = ?))"
            " ORDER BY p.id DESC LIMIT ?",
            (before if before is not None else NEWEST, user_id, user_id, limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]
