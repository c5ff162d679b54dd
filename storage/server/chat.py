"""Chat on the server: conversations, their members (with each member's delivered and read
receipts), and messages numbered by a gap-free per-conversation `seq`.

`conversations.last_seq` is the last seq handed out; it is bumped in the same transaction that
stores the message, so a seq exists exactly when its message does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.database import Handle, marks
from storage.errors import Duplicate, UniqueViolation

DIRECT = "direct"
GROUP = "group"


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: int
    kind: str
    name: str
    created_by: int
    created_at: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class MemberRecord:
    conversation_id: int
    user_id: int
    username: str
    joined_seq: int
    left_seq: int | None  # None while a member
    delivered_seq: int
    read_seq: int
    receipt_id: int

    @property
    def current(self) -> bool:
        return self.left_seq is None

    @property
    def visible_seq(self) -> int | None:
        """The last seq this member may read: None means no limit (still a member)."""
        return self.left_seq


@dataclass(frozen=True, slots=True)
class MessageRecord:
    conversation_id: int
    seq: int
    sender: str
    kind: str
    text: str
    member: str | None
    sent_at: int


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A row to store; `seq` already assigned."""

    conversation_id: int
    seq: int
    sender_id: int
    kind: str
    text: str
    member_id: int | None
    sent_at: int


def direct_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


_MEMBER = (
    "SELECT cm.conversation_id, cm.user_id, u.username, cm.joined_seq, cm.left_seq,"
    " cm.delivered_seq, cm.read_seq, cm.receipt_id"
    " FROM conversation_members cm JOIN users u ON u.id = cm.user_id"
)
_MESSAGE = (
    "SELECT m.conversation_id, m.seq, s.username, m.kind, m.text, t.username, m.sent_at"
    " FROM messages m JOIN users s ON s.id = m.sender_id LEFT JOIN users t ON t.id = m.member_id"
)
_CONVERSATION = "SELECT id, kind, name, created_by, created_at, last_seq FROM conversations"


class ChatRepository:
    # ------------------------------------------------------------------ reads
    async def conversation(self, conn: Handle, conversation_id: int) -> ConversationRecord | None:
        async with conn.execute(_CONVERSATION + " WHERE id = ?", (conversation_id,)) as cur:
            row = await cur.fetchone()
        return ConversationRecord(*row) if row else None

    async def direct_conversation_id(self, conn: Handle, a: int, b: int) -> int | None:
        async with conn.execute(
            "SELECT id FROM conversations WHERE direct_key = ?", (direct_key(a, b),)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def membership(
        self, conn: Handle, conversation_id: int, user_id: int
    ) -> MemberRecord | None:
        async with conn.execute(
            _MEMBER + " WHERE cm.conversation_id = ? AND cm.user_id = ?",
            (conversation_id, user_id),
        ) as cur:
            row = await cur.fetchone()
        return MemberRecord(*row) if row else None

    async def members(
        self,
        conn: Handle,
        conversation_ids: Iterable[int],
        *,
        current_only: bool = True,
    ) -> dict[int, list[MemberRecord]]:
        ids = sorted(set(conversation_ids))
        out: dict[int, list[MemberRecord]] = {cid: [] for cid in ids}
        if not ids:
            return out
        in_list = marks(ids)
        where = " AND cm.left_seq IS NULL" if current_only else ""
        async with conn.execute(
            _MEMBER + f" WHERE cm.conversation_id IN ({in_list}){where} ORDER BY u.username", ids
        ) as cur:
            for row in await cur.fetchall():
                out[row[0]].append(MemberRecord(*row))
        return out

    async def current_member_ids(
        self, conn: Handle, conversation_ids: Iterable[int]
    ) -> dict[int, set[int]]:
        """Current members' ids only: the cheap form of `members` for the send path."""
        ids = sorted(set(conversation_ids))
        out: dict[int, set[int]] = {cid: set() for cid in ids}
        if ids:
            async with conn.execute(CURRENT_MEMBER_IDS.format(marks=marks(ids)), ids) as cur:
                for row in await cur.fetchall():
                    out[row[0]].add(row[1])
        return out

    async def conversations_of(
        self, conn: Handle, user_id: int
    ) -> list[tuple[ConversationRecord, MemberRecord]]:
        """Every conversation the user is or was in, most recently active first."""
        async with conn.execute(
            "SELECT c.id, c.kind, c.name, c.created_by, c.created_at, c.last_seq,"
            " cm.conversation_id, cm.user_id, u.username, cm.joined_seq, cm.left_seq,"
            " cm.delivered_seq, cm.read_seq, cm.receipt_id"
            " FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id"
            " JOIN users u ON u.id = cm.user_id WHERE cm.user_id = ?"
            # Latest activity first: the last message's time, or the creation's for none yet.
            " ORDER BY COALESCE((SELECT m.sent_at FROM messages m WHERE m.conversation_id = c.id"
            " AND m.seq = c.last_seq), c.created_at) DESC, c.id DESC",
            (user_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [(ConversationRecord(*row[:6]), MemberRecord(*row[6:])) for row in rows]

    async def unread_counts(self, conn: Handle, user_id: int) -> dict[int, int]:
        async with conn.execute(
            "SELECT m.conversation_id, COUNT(*) FROM conversation_members cm"
            " JOIN messages m ON m.conversation_id = cm.conversation_id AND m.seq > cm.read_seq"
            " WHERE cm.user_id = ? AND m.sender_id != ? AND m.kind = 'text'"
            " AND (cm.left_seq IS NULL OR m.seq <= cm.left_seq)"
            " GROUP BY m.conversation_id",
            (user_id, user_id),
        ) as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}

    async def page(
        self,
        conn: Handle,
        conversation_id: int,
        *,
        before: int | None,
        upto: int | None,
        limit: int,
    ) -> tuple[list[MessageRecord], bool]:
        """Up to `limit` messages just before `before` (and not after `upto`), oldest first,
        and whether older ones exist."""
        ceiling = 2**62 if before is None else before
        if upto is not None:
            ceiling = min(ceiling, upto + 1)
        async with conn.execute(
            _MESSAGE + " WHERE m.conversation_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?",
            (conversation_id, ceiling, limit + 1),
        ) as cur:
            rows = list(await cur.fetchall())
        more = len(rows) > limit
        return [MessageRecord(*row) for row in reversed(rows[:limit])], more

    async def after(
        self,
        conn: Handle,
        conversation_id: int,
        *,
        after: int,
        upto: int | None,
        limit: int,
    ) -> list[MessageRecord]:
        """Messages with seq > after (and <= upto), oldest first."""
        async with conn.execute(
            _MESSAGE + " WHERE m.conversation_id = ? AND m.seq > ? AND m.seq <= ?"
            " ORDER BY m.seq LIMIT ?",
            (conversation_id, after, 2**62 if upto is None else upto, limit),
        ) as cur:
            return [MessageRecord(*row) for row in await cur.fetchall()]

    async def receipts_after(self, conn: Handle, user_id: int, after_id: int) -> list[MemberRecord]:
        """Receipt changes (of anyone) in the user's conversations, oldest change first."""
        async with conn.execute(
            _MEMBER + " WHERE cm.receipt_id > ? AND cm.conversation_id IN"
            " (SELECT conversation_id FROM conversation_members WHERE user_id = ?)"
            " ORDER BY cm.receipt_id",
            (after_id, user_id),
        ) as cur:
            return [MemberRecord(*row) for row in await cur.fetchall()]

    async def senders_between(
        self, conn: Handle, conversation_id: int, low: int, high: int
    ) -> set[int]:
        """Who sent the messages with low < seq <= high."""
        async with conn.execute(
            "SELECT DISTINCT sender_id FROM messages WHERE conversation_id = ?"
            " AND seq > ? AND seq <= ? AND kind = 'text'",
            (conversation_id, low, high),
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    async def presence_audience(self, conn: Handle, user_id: int) -> set[int]:
        """Who may see this user's presence: everyone sharing a conversation with them now,
        and everyone they follow who follows them back. (Symmetric: so is `presence.get`.)"""
        async with conn.execute(
            "SELECT other.user_id FROM conversation_members me"
            " JOIN conversation_members other ON other.conversation_id = me.conversation_id"
            " WHERE me.user_id = ? AND me.left_seq IS NULL AND other.left_seq IS NULL"
            " AND other.user_id != ?"
            " UNION"
            " SELECT out.followee_id FROM follows out JOIN follows back"
            " ON back.follower_id = out.followee_id AND back.followee_id = out.follower_id"
            " WHERE out.follower_id = ?",
            (user_id, user_id, user_id),
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    async def create_conversation(
        self,
        tx: Handle,
        conversation_id: int,
        kind: str,
        name: str,
        created_by: int,
        now: int,
        *,
        direct_pair: tuple[int, int] | None = None,
    ) -> ConversationRecord:
        key = direct_key(*direct_pair) if direct_pair else None
        try:
            await tx.execute(
                "INSERT INTO conversations (id, kind, name, direct_key, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, kind, name, key, created_by, now),
            )
        except UniqueViolation as exc:
            raise Duplicate(f"direct conversation {key}") from exc
        return ConversationRecord(conversation_id, kind, name, created_by, now, 0)

    async def add_member(
        self, tx: Handle, conversation_id: int, user_id: int, joined_seq: int
    ) -> None:
        """Add a member, or bring back one who had left."""
        await tx.execute(
            "INSERT INTO conversation_members (conversation_id, user_id, joined_seq)"
            " VALUES (?, ?, ?) ON CONFLICT (conversation_id, user_id)"
            " DO UPDATE SET left_seq = NULL, joined_seq = excluded.joined_seq",
            (conversation_id, user_id, joined_seq),
        )

    async def set_left(self, tx: Handle, conversation_id: int, user_id: int, left_seq: int) -> None:
        await tx.execute(
            "UPDATE conversation_members SET left_seq = ?"
            " WHERE conversation_id = ? AND user_id = ?",
            (left_seq, conversation_id, user_id),
        )

    async def last_seqs(self, tx: Handle, conversation_ids: Iterable[int]) -> dict[int, int]:
        """Each conversation's last seq, its row held until the transaction ends (where the
        engine lets two writers run at once), so two senders never take the same seq."""
        ids = sorted(set(conversation_ids))
        if not ids:
            return {}
        sql = LAST_SEQS.format(marks=marks(ids))
        if tx.engine != "sqlite":
            # in id order: two batches (two processes) sharing conversations never each hold
            # one the other waits for (a bitmap scan would lock them in the table's order)
            sql += " ORDER BY id FOR UPDATE"
        async with tx.execute(sql, ids) as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}

    async def store_messages(self, tx: Handle, rows: Sequence[NewMessage]) -> None:
        """Store messages whose seqs were assigned from `last_seqs` in this same transaction,
        and move each conversation's `last_seq` to its highest new seq."""
        if rows:
            await tx.executemany(INSERT_MESSAGE, message_rows(rows))
            await tx.executemany(RAISE_LAST_SEQ, last_seq_rows(rows))

    async def append(
        self,
        tx: Handle,
        conversation_id: int,
        sender_id: int,
        kind: str,
        text: str,
        member_id: int | None,
        now: int,
    ) -> NewMessage:
        """Store one message with the conversation's next seq."""
        seqs = await self.last_seqs(tx, [conversation_id])
        row = NewMessage(
            conversation_id, seqs[conversation_id] + 1, sender_id, kind, text, member_id, now
        )
        await self.store_messages(tx, [row])
        return row

    async def advance_receipts(
        self, tx: Handle, updates: Sequence[tuple[int, int, int, int, int]]
    ) -> None:
        """(conversation, user, delivered_seq, read_seq, receipt_id): receipts only move
        forward, reading implies delivery, and receipt_id changes only when something moved."""
        await tx.executemany(advance_receipts_sql(tx.engine), receipt_rows(updates))


# The statements of the send path, shared by the repository's methods and the SQLite form of
# the group commit (storage/server/chat_batches.py), which runs them on the database's thread.
CURRENT_MEMBER_IDS = (
    "SELECT conversation_id, user_id FROM conversation_members"
    " WHERE conversation_id IN ({marks}) AND left_seq IS NULL"
)
LAST_SEQS = "SELECT id, last_seq FROM conversations WHERE id IN ({marks})"
INSERT_MESSAGE = (
    "INSERT INTO messages (conversation_id, seq, sender_id, kind, text, member_id, sent_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
RAISE_LAST_SEQ = "UPDATE conversations SET last_seq = ? WHERE id = ? AND last_seq < ?"
_ADVANCE_RECEIPTS = (
    "UPDATE conversation_members SET"
    " delivered_seq = {max}(delivered_seq, ?2, ?3), read_seq = {max}(read_seq, ?3),"
    " receipt_id = ?4 WHERE conversation_id = ?5 AND user_id = ?1"
    " AND (delivered_seq < {max}(?2, ?3) OR read_seq < ?3)"
)


def advance_receipts_sql(engine: str) -> str:
    """The larger of several values: SQLite's scalar MAX is PostgreSQL's GREATEST, whose
    parameters need a type when no column sits beside them."""
    if engine == "sqlite":
        return _ADVANCE_RECEIPTS.format(max="MAX")
    typed = _ADVANCE_RECEIPTS.replace("?2", "CAST(?2 AS BIGINT)").replace(
        "?3", "CAST(?3 AS BIGINT)"
    )
    return typed.format(max="GREATEST")


def message_rows(rows: Sequence[NewMessage]) -> list[tuple[object, ...]]:
    return [
        (r.conversation_id, r.seq, r.sender_id, r.kind, r.text, r.member_id, r.sent_at)
        for r in rows
    ]


def last_seq_rows(rows: Sequence[NewMessage]) -> list[tuple[int, int, int]]:
    top: dict[int, int] = {}
    for r in rows:
        top[r.conversation_id] = max(top.get(r.conversation_id, 0), r.seq)
    return [(seq, cid, seq) for cid, seq in top.items()]


def receipt_rows(
    updates: Sequence[tuple[int, int, int, int, int]],
) -> list[tuple[int, int, int, int, int]]:
    return [(user, delivered, read, rid, cid) for cid, user, delivered, read, rid in updates]
