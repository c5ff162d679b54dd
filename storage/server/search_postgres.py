"""Search on PostgreSQL: the same kinds, rules and order of results as on SQLite
(storage/server/search.py), on PostgreSQL's own full-text search.

Each text is read through `to_tsvector('english', …)` (the english configuration stems words
as SQLite's porter tokenizer does), and GIN indexes on those expressions (the search
migration) answer the `@@` test; results are ranked by `ts_rank_cd`. Nothing is queued:
an index on an expression is current when its row's transaction commits, so the
`index_waiting_*` steps SQLite needs do nothing here.

Where the engines differ: PostgreSQL's english configuration drops stop words ("the", "and"),
so a search made only of them finds nothing; a few characters Python counts as letters are
no word to PostgreSQL's parser.
"""

from __future__ import annotations

from typing import Any

from storage.database import Database
from storage.server.search import MIN_TAG_PREFIX, FileHit, MessageHit
from storage.server.search_query import tag_range, tsquery
from storage.server.social_graph import UserSummary
from storage.server.social_posts import TagCount
from storage.server.visibility import author_visible

# The expressions the search migration's indexes are built on: a query must spell them the
# same way for PostgreSQL to use the index.
POST_TEXT = "to_tsvector('english', p.text)"
PERSON_TEXT = "to_tsvector('english', u.username || ' ' || p.display_name || ' ' || p.bio)"
MESSAGE_TEXT = "to_tsvector('english', m.text)"
FILE_NAME = "to_tsvector('english', regexp_replace(f.path, '^.*/', ''))"
QUERY = "to_tsquery('english', ?)"


class PostgresSearchRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _rows(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        async with self._db.reader.execute(sql, parameters) as cur:
            return list(await cur.fetchall())

    async def posts(self, reader_id: int, words: tuple[str, ...], limit: int) -> list[int]:
        query = tsquery(words)
        if query is None:
            return []
        rows = await self._rows(
            f"SELECT p.id FROM posts p WHERE {POST_TEXT} @@ {QUERY} AND p.deleted_at IS NULL"
            f" AND {author_visible('p.author_id', 'CAST(? AS BIGINT)')}"
            " AND NOT EXISTS (SELECT 1 FROM user_blocks b"
            "   WHERE b.user_id = ? AND b.target_id = p.author_id)"
            " AND NOT EXISTS (SELECT 1 FROM user_mutes m"
            "   WHERE m.user_id = ? AND m.target_id = p.author_id)"
            f" ORDER BY ts_rank_cd({POST_TEXT}, {QUERY}) DESC, p.id DESC LIMIT ?",
            (query, reader_id, reader_id, reader_id, reader_id, query, limit),
        )
        return [row[0] for row in rows]

    async def people(self, words: tuple[str, ...], limit: int) -> list[UserSummary]:
        query = tsquery(words, prefix_last=True)
        if query is None:
            return []
        rows = await self._rows(
            "SELECT u.id, u.username, p.display_name, s.followers, s.following"
            " FROM users u JOIN profiles p ON p.user_id = u.id"
            " JOIN social_stats s ON s.user_id = u.id"
            f" WHERE {PERSON_TEXT} @@ {QUERY} AND u.deleted_at IS NULL"
            f" ORDER BY ts_rank_cd({PERSON_TEXT}, {QUERY}) DESC, s.followers DESC, u.username"
            " LIMIT ?",
            (query, query, limit),
        )
        return [UserSummary(*row) for row in rows]

    async def tags(self, reader_id: int, tag: str, limit: int) -> list[TagCount]:
        if not tag:
            return []
        low, high = tag_range(tag) if len(tag) >= MIN_TAG_PREFIX else (tag, tag + "\0")
        # Byte order (COLLATE "C"), as SQLite compares: a language's collation would put
        # other tags between the bounds.
        rows = await self._rows(
            "SELECT tag, COUNT(DISTINCT author_id) AS authors, COUNT(*) AS uses FROM post_tags t"
            ' WHERE tag COLLATE "C" >= ? AND tag COLLATE "C" < ?'
            f" AND {author_visible('t.author_id', 'CAST(? AS BIGINT)')}"
            ' GROUP BY tag ORDER BY authors DESC, uses DESC, tag COLLATE "C" LIMIT ?',
            (low, high.replace("\0", "\x01"), reader_id, reader_id, limit),
        )
        return [TagCount(*row) for row in rows]

    async def index_waiting_messages(self) -> int:
        return 0  # expression indexes are current at commit

    async def index_waiting_files(self) -> int:
        return 0

    async def messages(self, user_id: int, words: tuple[str, ...], limit: int) -> list[MessageHit]:
        query = tsquery(words)
        if query is None:
            return []
        rows = await self._rows(
            "SELECT m.conversation_id, c.kind, c.name,"
            " (SELECT ou.username FROM conversation_members o JOIN users ou ON ou.id = o.user_id"
            "   WHERE o.conversation_id = c.id AND o.user_id != cm.user_id"
            "   ORDER BY o.user_id LIMIT 1),"
            " m.seq, s.username, m.text, m.sent_at"
            " FROM conversation_members cm"
            " JOIN messages m ON m.conversation_id = cm.conversation_id"
            " JOIN conversations c ON c.id = m.conversation_id"
            " JOIN users s ON s.id = m.sender_id"
            f" WHERE cm.user_id = ? AND m.kind = 'text' AND {MESSAGE_TEXT} @@ {QUERY}"
            " AND (cm.left_seq IS NULL OR m.seq <= cm.left_seq)"
            f" ORDER BY ts_rank_cd({MESSAGE_TEXT}, {QUERY}) DESC, m.conversation_id, m.seq DESC"
            " LIMIT ?",
            (user_id, query, query, limit),
        )
        return [
            MessageHit(cid, kind, name if kind == "group" else (other or ""), *rest)
            for cid, kind, name, other, *rest in rows
        ]

    async def files(self, user_id: int, words: tuple[str, ...], limit: int) -> list[FileHit]:
        query = tsquery(words, prefix_last=True)
        if query is None:
            return []
        rows = await self._rows(
            "SELECT v.namespace_id, n.kind, CASE n.kind WHEN 'home' THEN ''"
            " ELSE COALESCE(nm.mount_name, n.name) END, v.path, v.kind, v.id, v.size, v.mtime_ms"
            " FROM namespace_members nm"
            " JOIN files_current f ON f.namespace_id = nm.namespace_id"
            " JOIN file_versions v ON v.id = f.version_id"
            " JOIN namespaces n ON n.id = f.namespace_id"
            f" WHERE nm.user_id = ? AND f.deleted = 0 AND {FILE_NAME} @@ {QUERY}"
            f" ORDER BY ts_rank_cd({FILE_NAME}, {QUERY}) DESC, v.path LIMIT ?",
            (user_id, query, query, limit),
        )
        return [FileHit(*row) for row in rows]
