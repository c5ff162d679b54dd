"""Posts, reposts, replies and likes: rows, counters, mentions, hashtags and the post index.

Deleting a post keeps its row (marked `deleted_at`) so replies still know what they answered;
it leaves search, trending and every count at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from storage.database import Handle, marks
from storage.server.visibility import author_visible

MAX_THREAD_REPLIES = 500
MAX_ANCESTORS = 50


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """An attachment as a post shows it."""

    id: int
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class PostRecord:
    id: int
    author_id: int
    author: str
    text: str
    reply_to: int | None
    repost_of: int | None
    created_at: int
    deleted_at: int | None
    mentions: str  # space-separated usernames
    tags: str  # space-separated tags
    like_count: int
    repost_count: int
    reply_count: int
    attachments: tuple[AttachedFile, ...] = ()

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True)
class NewPost:
    id: int
    author_id: int
    text: str
    reply_to: int | None
    repost_of: int | None
    created_at: int
    fanned_out: bool
    mention_ids: Sequence[int]
    mentions: Sequence[str]
    tags: Sequence[str]
    attachment_ids: Sequence[int] = ()


# A post counts for its author; an unfanned one marks the author as a source pulled at read
# time, for good. Scalar MAX(a, b) is SQLite's; PostgreSQL spells it GREATEST (which SQLite
# lacks), and post create is a hot path on SQLite, so its statement stays as it was.
_COUNT_POST = {
    "sqlite": "UPDATE social_stats SET posts = posts + 1,"
    " has_unfanned = MAX(has_unfanned, ?) WHERE user_id = ?",
    "postgresql": "UPDATE social_stats SET posts = posts + 1,"
    " has_unfanned = GREATEST(has_unfanned, ?) WHERE user_id = ?",
}

_SELECT = (
    "SELECT p.id, p.author_id, u.username, p.text, p.reply_to, p.repost_of, p.created_at,"
    " p.deleted_at, p.mentions, p.tags, p.like_count, p.repost_count, p.reply_count"
    " FROM posts p JOIN users u ON u.id = p.author_id"
)


class PostRepository:
    # ------------------------------------------------------------------ reading
    async def get(self, conn: Handle, post_id: int) -> PostRecord | None:
        found = await self.get_many(conn, [post_id])
        return found.get(post_id)

    async def get_many(self, conn: Handle, ids: Iterable[int]) -> dict[int, PostRecord]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        in_list = marks(wanted)
        async with conn.execute(f"{_SELECT} WHERE p.id IN ({in_list})", wanted) as cur:
            rows = await cur.fetchall()
        files = await self._attachments(conn, [row[0] for row in rows])
        records = {row[0]: PostRecord(*row) for row in rows}
        for post_id, attached in files.items():
            records[post_id] = replace(records[post_id], attachments=attached)
        return records

    async def _attachments(
        self, conn: Handle, ids: list[int]
    ) -> dict[int, tuple[AttachedFile, ...]]:
        if not ids:
            return {}
        in_list = marks(ids)
        found: dict[int, list[AttachedFile]] = {}
        async with conn.execute(
            "SELECT pa.post_id, a.id, a.name, a.size FROM post_attachments pa"
            f" JOIN attachments a ON a.id = pa.attachment_id WHERE pa.post_id IN ({in_list})"
            " ORDER BY pa.post_id, pa.idx",
            ids,
        ) as cur:
            for post_id, *file in await cur.fetchall():
                found.setdefault(post_id, []).append(AttachedFile(*file))
        return {post_id: tuple(files) for post_id, files in found.items()}

    async def liked(self, conn: Handle, user_id: int, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        in_list = marks(ids)
        async with conn.execute(
            f"SELECT post_id FROM likes WHERE user_id = ? AND post_id IN ({in_list})",
            (user_id, *ids),
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    async def by_author(
        self, conn: Handle, author_id: int, before: int | None, limit: int
    ) -> list[int]:
        async with conn.execute(
            "SELECT id FROM posts WHERE author_id = ? AND id < ? AND deleted_at IS NULL"
            " ORDER BY id DESC LIMIT ?",
            (author_id, before if before is not None else (1 << 63) - 1, limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def by_author_oldest_first(
        self, conn: Handle, author_id: int, after: int | None, limit: int
    ) -> list[int]:
        """The author's live posts after `after`, oldest first (for export)."""
        async with conn.execute(
            "SELECT id FROM posts WHERE author_id = ? AND id > ? AND deleted_at IS NULL"
            " ORDER BY id LIMIT ?",
            (author_id, after if after is not None else 0, limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def live_repost(self, conn: Handle, user_id: int, original_id: int) -> int | None:
        async with conn.execute(
            "SELECT id FROM posts WHERE author_id = ? AND repost_of = ? AND deleted_at IS NULL",
            (user_id, original_id),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def ancestors(self, conn: Handle, post: PostRecord) -> list[int]:
        """Ids of the posts `post` replies to, oldest first (deleted ones included)."""
        async with conn.execute(
            # CAST: PostgreSQL types an untyped `?` as text, which the join to BIGINT refuses.
            "WITH RECURSIVE up(id, depth) AS (SELECT CAST(? AS BIGINT), 0 UNION ALL"
            " SELECT p.reply_to, up.depth + 1 FROM posts p JOIN up ON p.id = up.id"
            " WHERE p.reply_to IS NOT NULL AND up.depth < ?)"
            " SELECT id FROM up WHERE depth > 0 ORDER BY depth DESC",
            (post.id, MAX_ANCESTORS),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def replies(self, conn: Handle, post_id: int) -> list[int]:
        """Ids of live replies to a post and to those replies, oldest first."""
        async with conn.execute(
            "WITH RECURSIVE down(id) AS (SELECT CAST(? AS BIGINT) UNION"
            " SELECT p.id FROM posts p JOIN down ON p.reply_to = down.id"
            " WHERE p.deleted_at IS NULL)"
            " SELECT id FROM down WHERE id != ? ORDER BY id LIMIT ?",
            (post_id, post_id, MAX_THREAD_REPLIES),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    # ------------------------------------------------------------------ writing
    async def insert(self, tx: Handle, post: NewPost) -> None:
        await tx.execute(
            "INSERT INTO posts (id, author_id, text, reply_to, repost_of, created_at, fanned_out,"
            " mentions, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                post.id,
                post.author_id,
                post.text,
                post.reply_to,
                post.repost_of,
                post.created_at,
                int(post.fanned_out),
                " ".join(post.mentions),
                " ".join(post.tags),
            ),
        )
        # PostgreSQL's search indexes the posts table itself (storage/server/search_postgres.py).
        if post.text and tx.engine == "sqlite":
            await tx.execute(
                "INSERT INTO posts_fts (rowid, text) VALUES (?, ?)", (post.id, post.text)
            )
        if post.attachment_ids:
            await tx.executemany(
                "INSERT INTO post_attachments (post_id, idx, attachment_id) VALUES (?, ?, ?)",
                [(post.id, i, a) for i, a in enumerate(post.attachment_ids)],
            )
        if post.mention_ids:
            await tx.executemany(
                "INSERT INTO post_mentions (post_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(post.id, m) for m in post.mention_ids],
            )
        if post.tags:
            await tx.executemany(
                "INSERT INTO post_tags (tag, post_id, author_id, created_at) VALUES (?, ?, ?, ?)",
                [(t, post.id, post.author_id, post.created_at) for t in post.tags],
            )
        # Counter rows before post rows, the order every social write locks them in (on
        # PostgreSQL, two writes locking in opposite orders would deadlock).
        await tx.execute(_COUNT_POST[tx.engine], (int(not post.fanned_out), post.author_id))
        if post.reply_to is not None:
            await _bump(tx, "reply_count", post.reply_to, +1)
        if post.repost_of is not None:
            await _bump(tx, "repost_count", post.repost_of, +1)

    async def mark_deleted(self, tx: Handle, post: PostRecord, now: int) -> None:
        """Delete one live post: it leaves search, trending and its author's and parents' counts."""
        await tx.execute("UPDATE posts SET deleted_at = ? WHERE id = ?", (now, post.id))
        # PostgreSQL's search indexes the posts table itself (storage/server/search_postgres.py).
        if post.text and tx.engine == "sqlite":
            await tx.execute(
                "INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', ?, ?)",
                (post.id, post.text),
            )
        await tx.execute("DELETE FROM post_tags WHERE post_id = ?", (post.id,))
        # Counter rows before post rows, as in insert().
        await tx.execute(
            "UPDATE social_stats SET posts = posts - 1 WHERE user_id = ?", (post.author_id,)
        )
        if post.reply_to is not None:
            await _bump(tx, "reply_count", post.reply_to, -1)
        if post.repost_of is not None:
            await _bump(tx, "repost_count", post.repost_of, -1)

    async def hold(self, tx: Handle, post_id: int) -> bool:
        """Whether the post is still live, holding its row until the transaction ends, so
        that reposts and deletes of one post take turns. PostgreSQL runs transactions side by
        side and needs the row lock (FOR UPDATE, which SQLite lacks); SQLite's single writer
        already makes them take turns."""
        lock = " FOR UPDATE" if tx.engine == "postgresql" else ""
        async with tx.execute(
            f"SELECT 1 FROM posts WHERE id = ? AND deleted_at IS NULL{lock}", (post_id,)
        ) as cur:
            return await cur.fetchone() is not None

    async def live_reposts_of(self, tx: Handle, post_id: int) -> list[int]:
        async with tx.execute(
            "SELECT id FROM posts WHERE repost_of = ? AND deleted_at IS NULL", (post_id,)
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def add_like(self, tx: Handle, user_id: int, post_id: int, now: int) -> bool:
        cur = await tx.execute(
            # A second like waits for the first's row and then inserts nothing, so only one
            # of two racing likes counts (PostgreSQL runs them side by side).
            "INSERT INTO likes (user_id, post_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (user_id, post_id, now),
        )
        if cur.rowcount:
            await _bump(tx, "like_count", post_id, +1)
        return bool(cur.rowcount)

    async def remove_like(self, tx: Handle, user_id: int, post_id: int) -> bool:
        cur = await tx.execute(
            "DELETE FROM likes WHERE user_id = ? AND post_id = ?", (user_id, post_id)
        )
        if cur.rowcount:
            await _bump(tx, "like_count", post_id, -1)
        return bool(cur.rowcount)


async def _bump(tx: Handle, column: str, post_id: int, delta: int) -> None:
    assert column in {"like_count", "repost_count", "reply_count"}
    await tx.execute(f"UPDATE posts SET {column} = {column} + ? WHERE id = ?", (delta, post_id))


@dataclass(frozen=True, slots=True)
class TagCount:
    tag: str
    authors: int
    posts: int


async def trending_tags(conn: Handle, reader_id: int, since: int, limit: int) -> list[TagCount]:
    """Tags of live posts since `since` that the reader may see, ranked by how many different
    people used them."""
    async with conn.execute(
        "SELECT tag, COUNT(DISTINCT author_id) AS authors, COUNT(*) AS uses FROM post_tags t"
        f" WHERE created_at >= ? AND {author_visible('t.author_id', '?')}"
        " GROUP BY tag ORDER BY authors DESC, uses DESC, tag LIMIT ?",
        (since, reader_id, reader_id, limit),
    ) as cur:
        return [TagCount(*row) for row in await cur.fetchall()]
