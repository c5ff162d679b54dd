"""Search on SQLite: what one person may find, by kind, best first (FTS5's bm25 `rank`).

Each method takes the searcher's words (`storage/server/search_query.py`) and builds the FTS5
query itself, so nothing above storage knows the engine's syntax. The full-text table is read
first (`CROSS JOIN` keeps SQLite from looping over a person's conversations or shares and
asking FTS5 once per row), then each hit is kept only if the searcher may see it. Messages and
file names also carry their conversation or namespace as a token, and the MATCH names the
searcher's own, so FTS5 reads only their rows, not everyone's:

- posts: live, by an author the searcher may see (`visibility.author_visible`) and has not
  blocked or muted;
- people: accounts not deleted;
- tags: hashtags of live posts by authors the searcher may see, by how many people used them;
- messages: text messages of conversations the searcher is a member of, or, for one they
  left or were removed from, those up to that point (`left_seq`), as chat history pages them
  (indexed shortly after their commit, from the queue `messages_to_index`, and whatever waits
  is indexed before a search looks);
- files: live entries, by name, of namespaces the searcher is a member of (their home and
  shares they accepted; an invitation is not membership), indexed as messages are (from the
  queue `files_to_index`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from storage.database import Database
from storage.server.search_query import fts5_match, fts5_within, tag_range
from storage.server.social_graph import UserSummary
from storage.server.social_posts import TagCount
from storage.server.visibility import author_visible

MIN_TAG_PREFIX = 2  # a shorter tag is looked for whole: one letter would match most tags
# Up to this many conversations or namespaces, the searcher's own are named in the MATCH, so
# FTS5 reads only their rows (a common word is in most messages of everyone); past it the
# query would grow long, and rows are kept by the join alone.
MAX_SCOPE = 500
# Messages indexed per write transaction: a short hold of the write lock, which chat commits
# wait for, at a time.
INDEX_BATCH = 500
_FIRST_WAITING = (
    "SELECT conversation_id, seq FROM messages_to_index ORDER BY conversation_id, seq LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class MessageHit:
    conversation_id: int
    conversation_kind: str  # direct | group
    conversation_name: str  # the group's name; for a direct one, the other person
    seq: int
    sender: str
    text: str
    sent_at: int


@dataclass(frozen=True, slots=True)
class FileHit:
    namespace_id: int
    namespace_kind: str  # home | shared
    namespace_name: str  # "" for the home; a share under the name this member mounts it
    path: str
    kind: str  # file | dir
    version_id: int
    size: int
    mtime_ms: int


class SearchRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _rows(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        async with self._db.reader.execute(sql, parameters) as cur:
            return list(await cur.fetchall())

    async def posts(self, reader_id: int, words: tuple[str, ...], limit: int) -> list[int]:
        """Ids of live posts holding every word, best first."""
        match = fts5_match(words)
        if match is None:
            return []
        rows = await self._rows(
            "SELECT p.id FROM posts_fts f CROSS JOIN posts p ON p.id = f.rowid"
            " WHERE posts_fts MATCH ? AND p.deleted_at IS NULL"
            f" AND {author_visible('p.author_id', '?')}"
            " AND NOT EXISTS (SELECT 1 FROM user_blocks b"
            "   WHERE b.user_id = ? AND b.target_id = p.author_id)"
            " AND NOT EXISTS (SELECT 1 FROM user_mutes m"
            "   WHERE m.user_id = ? AND m.target_id = p.author_id)"
            " ORDER BY f.rank, p.id DESC LIMIT ?",
            (match, reader_id, reader_id, reader_id, reader_id, limit),
        )
        return [row[0] for row in rows]

    async def people(self, words: tuple[str, ...], limit: int) -> list[UserSummary]:
        """People whose username, display name or bio holds every word (the last one as the
        start of a word: a name being typed), best first, then by followers."""
        match = fts5_match(words, prefix_last=True)
        if match is None:
            return []
        rows = await self._rows(
            "SELECT u.id, u.username, p.display_name, s.followers, s.following"
            " FROM users_fts f CROSS JOIN users u ON u.id = f.rowid"
            " JOIN profiles p ON p.user_id = u.id JOIN social_stats s ON s.user_id = u.id"
            " WHERE users_fts MATCH ? AND u.deleted_at IS NULL"
            " ORDER BY f.rank, s.followers DESC, u.username LIMIT ?",
            (match, limit),
        )
        return [UserSummary(*row) for row in rows]

    async def tags(self, reader_id: int, tag: str, limit: int) -> list[TagCount]:
        """Hashtags starting with `tag`, by how many people used them in posts the reader may
        see, then by uses."""
        if not tag:
            return []
        low, high = tag_range(tag) if len(tag) >= MIN_TAG_PREFIX else (tag, tag + "\0")
        rows = await self._rows(
            "SELECT tag, COUNT(DISTINCT author_id) AS authors, COUNT(*) AS uses FROM post_tags t"
            f" WHERE tag >= ? AND tag < ? AND {author_visible('t.author_id', '?')}"
            " GROUP BY tag ORDER BY authors DESC, uses DESC, tag LIMIT ?",
            (low, high, reader_id, reader_id, limit),
        )
        return [TagCount(*row) for row in rows]

    async def index_waiting_messages(self) -> int:
        """Index the messages committed since the last time (queued by a trigger in
        `messages_to_index`), in short write transactions; returns how many were waiting.
        Run on a timer and before a search, so a search finds every message acked before it."""
        async with self._db.reader.execute("SELECT 1 FROM messages_to_index LIMIT 1") as cur:
            if await cur.fetchone() is None:
                return 0
        done = 0
        while True:
            async with self._db.write() as tx:
                # The same first keys twice: nothing else writes inside this transaction.
                await tx.execute(
                    "INSERT INTO messages_fts (text, conversation, conversation_id, seq)"
                    " SELECT m.text, 'c' || m.conversation_id, m.conversation_id, m.seq"
                    f" FROM ({_FIRST_WAITING}) q JOIN messages m"
                    " ON m.conversation_id = q.conversation_id AND m.seq = q.seq"
                    " WHERE m.kind = 'text'",
                    (INDEX_BATCH,),
                )
                cur = await tx.execute(
                    "DELETE FROM messages_to_index"
                    f" WHERE (conversation_id, seq) IN ({_FIRST_WAITING})",
                    (INDEX_BATCH,),
                )
                taken = cur.rowcount
            done += taken
            if taken < INDEX_BATCH:
                return done

    async def index_waiting_files(self) -> int:
        """Apply the file-name changes committed since the last time (queued in order by the
        triggers on `files_current` in `files_to_index`: a name out of the index, or in), in
        short write transactions; returns how many were waiting. Run as messages are."""
        async with self._db.reader.execute("SELECT 1 FROM files_to_index LIMIT 1") as cur:
            if await cur.fetchone() is None:
                return 0
        done = 0
        while True:
            async with self._db.write() as tx:
                # A NULL command is an insert; 'delete' takes out the name indexed before,
                # given the same values, in the order the changes were made.
                await tx.execute(
                    "INSERT INTO files_fts (files_fts, rowid, name, namespace)"
                    " SELECT CASE WHEN gone THEN 'delete' END, version_id, name, namespace"
                    " FROM files_to_index ORDER BY id LIMIT ?",
                    (INDEX_BATCH,),
                )
                cur = await tx.execute(
                    "DELETE FROM files_to_index WHERE id IN"
                    " (SELECT id FROM files_to_index ORDER BY id LIMIT ?)",
                    (INDEX_BATCH,),
                )
                taken = cur.rowcount
            done += taken
            if taken < INDEX_BATCH:
                return done

    async def messages(self, user_id: int, words: tuple[str, ...], limit: int) -> list[MessageHit]:
        """Text messages holding every word that `user_id` may read, best first."""
        match = fts5_match(words)
        if match is None:
            return []
        await self.index_waiting_messages()
        mine = await self._scope(
            "SELECT 'c' || conversation_id FROM conversation_members WHERE user_id = ?", user_id
        )
        if mine is None:
            return []
        rows = await self._rows(
            "SELECT f.conversation_id, c.kind, c.name,"
            " (SELECT ou.username FROM conversation_members o JOIN users ou ON ou.id = o.user_id"
            "   WHERE o.conversation_id = c.id AND o.user_id != cm.user_id"
            "   ORDER BY o.user_id LIMIT 1),"
            " f.seq, s.username, m.text, m.sent_at"
            " FROM messages_fts f CROSS JOIN conversation_members cm"
            "   ON cm.conversation_id = f.conversation_id AND cm.user_id = ?"
            " JOIN messages m ON m.conversation_id = f.conversation_id AND m.seq = f.seq"
            " JOIN conversations c ON c.id = f.conversation_id"
            " JOIN users s ON s.id = m.sender_id"
            " WHERE messages_fts MATCH ? AND (cm.left_seq IS NULL OR f.seq <= cm.left_seq)"
            " ORDER BY bm25(messages_fts, 1.0, 0.0), f.conversation_id, f.seq DESC LIMIT ?",
            (user_id, fts5_within(match, "text", "conversation", mine), limit),
        )
        return [
            MessageHit(cid, kind, name if kind == "group" else (other or ""), *rest)
            for cid, kind, name, other, *rest in rows
        ]

    async def files(self, user_id: int, words: tuple[str, ...], limit: int) -> list[FileHit]:
        """Live files and folders whose name holds every word (the last one as the start of a
        word), in namespaces `user_id` is a member of, best first."""
        match = fts5_match(words, prefix_last=True)
        if match is None:
            return []
        await self.index_waiting_files()
        mine = await self._scope(
            "SELECT 'n' || namespace_id FROM namespace_members WHERE user_id = ?", user_id
        )
        if mine is None:
            return []
        rows = await self._rows(
            "SELECT v.namespace_id, n.kind, CASE n.kind WHEN 'home' THEN ''"
            " ELSE COALESCE(nm.mount_name, n.name) END, v.path, v.kind, v.id, v.size, v.mtime_ms"
            " FROM files_fts f CROSS JOIN file_versions v ON v.id = f.rowid"
            " JOIN namespace_members nm ON nm.namespace_id = v.namespace_id AND nm.user_id = ?"
            " JOIN namespaces n ON n.id = v.namespace_id"
            " WHERE files_fts MATCH ? ORDER BY bm25(files_fts, 1.0, 0.0), v.path LIMIT ?",
            (user_id, fts5_within(match, "name", "namespace", mine), limit),
        )
        return [FileHit(*row) for row in rows]

    async def _scope(self, sql: str, user_id: int) -> list[str] | None:
        """The searcher's own conversation or namespace tokens: None when they have none, []
        when too many to name (the join alone keeps their rows)."""
        tokens = [row[0] for row in await self._rows(sql, (user_id,))]
        if not tokens:
            return None
        return tokens if len(tokens) <= MAX_SCOPE else []


class Search(Protocol):
    """What each engine's search answers (SQLite: SearchRepository, above; PostgreSQL:
    storage/server/search_postgres.py)."""

    async def posts(self, reader_id: int, words: tuple[str, ...], limit: int) -> list[int]: ...
    async def people(self, words: tuple[str, ...], limit: int) -> list[UserSummary]: ...
    async def tags(self, reader_id: int, tag: str, limit: int) -> list[TagCount]: ...
    async def messages(
        self, user_id: int, words: tuple[str, ...], limit: int
    ) -> list[MessageHit]: ...
    async def files(self, user_id: int, words: tuple[str, ...], limit: int) -> list[FileHit]: ...
    async def index_waiting_messages(self) -> int: ...
    async def index_waiting_files(self) -> int: ...


def search_repository(db: Database) -> Search:
    """The search of the database's engine."""
    if db.engine == "sqlite":
        return SearchRepository(db)
    from storage.server.search_postgres import PostgresSearchRepository

    return PostgresSearchRepository(db)
