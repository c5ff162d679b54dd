"""Bulk loading of a synthetic social network (for benchmarks): users, devices, follows and
posts in large batches, then the counters and the fanned-out timelines computed in SQL (in
the dialect SQLite and PostgreSQL share).

Not used by the server: a running server writes one op at a time through the repositories.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from storage.database import Database

BATCH = 50_000
T = TypeVar("T")


async def add_users(db: Database, users: Sequence[tuple[int, str]], now: int) -> None:
    """(id, username) rows, with empty profiles (the password hash is unusable on purpose)."""
    for chunk in _chunks(users):
        async with db.write() as tx:
            await tx.executemany(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, '!', ?)",
                [(uid, name, now) for uid, name in chunk],
            )
            await tx.executemany(
                "INSERT INTO profiles (user_id, display_name, bio, updated_at)"
                " VALUES (?, '', '', ?)",
                [(uid, now) for uid, _ in chunk],
            )


async def add_devices(db: Database, devices: Sequence[tuple[int, int, str]], now: int) -> None:
    """(device id, user id, token hash) rows."""
    async with db.write() as tx:
        await tx.executemany(
            "INSERT INTO devices (id, user_id, name, token_hash, created_at)"
            " VALUES (?, ?, 'bench', ?, ?)",
            [(d, u, h, now) for d, u, h in devices],
        )


async def add_follows(db: Database, pairs: Iterable[tuple[int, int]], now: int) -> None:
    """(follower, followee) pairs; then every user's follower and following counts."""
    for chunk in _chunks(list(pairs)):
        async with db.write() as tx:
            await tx.executemany(
                "INSERT INTO follows (follower_id, followee_id, created_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(a, b, now) for a, b in chunk],
            )
    async with db.write() as tx:
        await tx.execute(
            "UPDATE social_stats SET"
            " followers = (SELECT COUNT(*) FROM follows WHERE followee_id = user_id),"
            " following = (SELECT COUNT(*) FROM follows WHERE follower_id = user_id)"
        )


async def add_posts(db: Database, posts: Sequence[tuple[int, int, str, int, bool]]) -> None:
    """(id, author, text, created_at ms, fanned_out) rows, without the search index."""
    for chunk in _chunks(posts):
        async with db.write() as tx:
            await tx.executemany(
                "INSERT INTO posts (id, author_id, text, created_at, fanned_out)"
                " VALUES (?, ?, ?, ?, ?)",
                [(i, a, t, c, int(f)) for i, a, t, c, f in chunk],
            )


async def finish_posts(db: Database) -> None:
    """Post counts, the not-fanned-out flags, and every fanned-out post in its author's and
    followers' timelines (what fan-out on write would have produced)."""
    async with db.write() as tx:
        await tx.execute(
            "UPDATE social_stats SET"
            " posts = (SELECT COUNT(*) FROM posts WHERE author_id = user_id),"
            " has_unfanned = CASE WHEN EXISTS (SELECT 1 FROM posts"
            "   WHERE author_id = user_id AND fanned_out = 0) THEN 1 ELSE 0 END"
        )
        await tx.execute(
            "INSERT INTO timeline (user_id, post_id, author_id)"
            " SELECT author_id, id, author_id FROM posts WHERE true ON CONFLICT DO NOTHING"
        )
        await tx.execute(
            "INSERT INTO timeline (user_id, post_id, author_id)"
            " SELECT f.follower_id, p.id, p.author_id FROM posts p"
            " JOIN follows f ON f.followee_id = p.author_id WHERE p.fanned_out = 1"
            " ON CONFLICT DO NOTHING"
        )


async def count(db: Database, table: str) -> int:
    assert table in {"users", "follows", "posts", "timeline"}
    async with db.reader.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


def _chunks(rows: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]
