"""The chat group commit's one transaction: read what a batch of sends depends on, let the
caller decide each send, store what it decided, all in one transaction (one fsync).

Each engine runs it its own way with the same guarantees (gap-free seq per conversation, the
idempotency records in the same transaction as the messages):
- SQLite: the whole transaction in one hop to the database's thread (one writer at a time, so
  the seqs read are the seqs to follow);
- PostgreSQL: statement by statement, the batch's conversation rows locked (`FOR UPDATE`) when
  their last seqs are read, so a batch committing through another process waits its turn.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from storage.database import Database, marks
from storage.server import chat, idempotency, user_blocks
from storage.server.chat import ChatRepository, NewMessage
from storage.server.idempotency import IdempotencyRepository, StoredResult
from storage.server.user_blocks import DirectBlock, UserBlockRepository
from storage.sqlite import SqliteDatabase

T = TypeVar("T")


@dataclass(frozen=True)
class BatchState:
    """What the sends of a batch depend on, read inside its transaction."""

    prior: dict[tuple[int, str], StoredResult]  # earlier results of these idempotency keys
    member_ids: dict[int, set[int]]  # each conversation's current members
    last_seqs: dict[int, int]
    direct_blocks: list[DirectBlock]


@dataclass
class BatchWrites:
    messages: list[NewMessage] = field(default_factory=list)
    # (conversation, user, delivered_seq, read_seq, receipt_id)
    receipts: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    # (user_id, client_id, op, result, created_at)
    results: list[tuple[int, str, str, bytes, int]] = field(default_factory=list)


Decide = Callable[[BatchState], tuple[BatchWrites, T]]


class ChatBatches:
    def __init__(
        self,
        db: Database,
        chat_repo: ChatRepository,
        keys: IdempotencyRepository,
        blocks: UserBlockRepository,
    ) -> None:
        self._db = db
        self._chat = chat_repo
        self._keys = keys
        self._blocks = blocks

    async def commit(
        self,
        keys: Sequence[tuple[int, str]],
        conversation_ids: Collection[int],
        decide: Decide[T],
    ) -> T:
        """One transaction: read the batch's state, `decide(state)` -> (writes, result), store
        the writes, commit; returns the result."""
        ids = sorted(set(conversation_ids))
        if isinstance(self._db, SqliteDatabase):
            return await self._db.transaction_on_thread(
                lambda tx: _on_sqlite(tx, keys, ids, decide)
            )
        async with self._db.write() as tx:
            # The seqs first: their row locks order concurrent batches on one conversation.
            last_seqs = await self._chat.last_seqs(tx, ids)
            state = BatchState(
                await self._keys.lookup_many(tx, keys),
                await self._chat.current_member_ids(tx, ids),
                last_seqs,
                await self._blocks.direct_blocks(tx, ids),
            )
            writes, result = decide(state)
            await self._chat.store_messages(tx, writes.messages)
            await self._chat.advance_receipts(tx, writes.receipts)
            await self._keys.record_many(tx, writes.results)
            return result


def _on_sqlite(
    tx: sqlite3.Connection,
    keys: Sequence[tuple[int, str]],
    ids: list[int],
    decide: Decide[T],
) -> T:
    """The same transaction on SQLite's plain connection, on the database thread."""
    prior: dict[tuple[int, str], StoredResult] = {}
    if keys:
        sql, params = idempotency.lookup_many_query(keys)
        prior = {(r[0], r[1]): StoredResult(r[2], bytes(r[3])) for r in tx.execute(sql, params)}
    members: dict[int, set[int]] = {cid: set() for cid in ids}
    last_seqs: dict[int, int] = {}
    blocks: list[DirectBlock] = []
    if ids:
        for row in tx.execute(chat.CURRENT_MEMBER_IDS.format(marks=marks(ids)), ids):
            members[row[0]].add(row[1])
        last_seqs = {r[0]: r[1] for r in tx.execute(chat.LAST_SEQS.format(marks=marks(ids)), ids)}
        sql = user_blocks.DIRECT_BLOCKS.format(marks=marks(ids))
        blocks = [DirectBlock(*row) for row in tx.execute(sql, ids)]
    writes, result = decide(BatchState(prior, members, last_seqs, blocks))
    if writes.messages:
        tx.executemany(chat.INSERT_MESSAGE, chat.message_rows(writes.messages))
        tx.executemany(chat.RAISE_LAST_SEQ, chat.last_seq_rows(writes.messages))
    if writes.receipts:
        tx.executemany(chat.advance_receipts_sql("sqlite"), chat.receipt_rows(writes.receipts))
    if writes.results:
        tx.executemany(idempotency.RECORD, writes.results)
    return result
