"""Group commit for chat messages: sends that arrive within about a millisecond are stored in
one transaction (one fsync), then each is acked and fanned out. An ack still means committed.

`plan_batch` holds the rules (replays, membership, seq assignment) as a plain function; the
`MessageCommitter` only queues, runs the transaction, and hands out results.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from protocol import chat as wire
from protocol.envelope import encode_event
from protocol.errors import ErrorCode, RoostError
from protocol.ids import SnowflakeGenerator
from server.hub import Hub, Subscriber
from server.social.block_rules import direct_send_refusals
from storage.database import now_ms
from storage.errors import Unavailable
from storage.server.chat import NewMessage
from storage.server.chat_batches import BatchState, BatchWrites, ChatBatches
from storage.server.idempotency import StoredResult

log = logging.getLogger("roost.server")

SEND_OP = "chat.send"
_encoder = msgspec.json.Encoder()


@dataclass(eq=False)
class PendingSend:
    user_id: int
    username: str
    conversation_id: int
    text: str
    client_id: str | None
    skip: Subscriber | None  # the sender's own connection gets the reply, not the event
    future: asyncio.Future[msgspec.Raw] = field(repr=False)  # the encoded wire.Message


@dataclass
class BatchPlan:
    accepted: list[tuple[PendingSend, NewMessage]] = field(default_factory=list)
    replayed: list[tuple[PendingSend, bytes]] = field(default_factory=list)
    refused: list[tuple[PendingSend, RoostError]] = field(default_factory=list)
    repeats: list[tuple[PendingSend, PendingSend]] = field(default_factory=list)  # (dup, first)


def plan_batch(
    batch: list[PendingSend],
    prior: Mapping[tuple[int, str], StoredResult],
    members: Mapping[int, set[int]],
    last_seq: Mapping[int, int],
    now: int,
    blocked: Mapping[tuple[int, int], RoostError] | None = None,
) -> BatchPlan:
    """Decide each send of a batch, in arrival order: a key seen before returns its first
    result; a non-member is refused as if the conversation did not exist; a sender `blocked`
    in that (direct) conversation gets its refusal; everything else gets the conversation's
    next seq (gap-free: refused sends take none)."""
    plan = BatchPlan()
    next_seq = dict(last_seq)
    first_by_key: dict[tuple[int, str], PendingSend] = {}
    for item in batch:
        key = (item.user_id, item.client_id) if item.client_id else None
        if key is not None and key in prior:
            stored = prior[key]
            if stored.op != SEND_OP:
                plan.refused.append(
                    (
                        item,
                        RoostError(ErrorCode.CONFLICT, "client_id was already used for another op"),
                    )
                )
            else:
                plan.replayed.append((item, stored.result))
            continue
        if key is not None and key in first_by_key:
            plan.repeats.append((item, first_by_key[key]))
            continue
        if item.user_id not in members.get(item.conversation_id, ()):
            plan.refused.append(
                (item, RoostError(ErrorCode.NOT_FOUND, f"no conversation {item.conversation_id}"))
            )
            continue
        refusal = (blocked or {}).get((item.conversation_id, item.user_id))
        if refusal is not None:
            plan.refused.append((item, refusal))
            continue
        seq = next_seq[item.conversation_id] + 1
        next_seq[item.conversation_id] = seq
        plan.accepted.append(
            (
                item,
                NewMessage(item.conversation_id, seq, item.user_id, "text", item.text, None, now),
            )
        )
        if key is not None:
            first_by_key[key] = item
    return plan


@dataclass
class CommittedBatch:
    plan: BatchPlan
    member_ids: dict[int, set[int]]
    results: list[tuple[PendingSend, NewMessage, bytes]]  # accepted sends, each message encoded


class MessageCommitter:
    def __init__(
        self,
        batches: ChatBatches,
        hub: Hub,
        ids: SnowflakeGenerator,
        *,
        window: float = 0.001,
        max_batch: int = 512,
    ) -> None:
        self._batches = batches
        self._hub = hub
        self._ids = ids
        self._window = window
        self._max_batch = max_batch
        self._queue: deque[PendingSend] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # how many transactions so far (for tests and the log)

    async def send(
        self,
        user_id: int,
        username: str,
        conversation_id: int,
        text: str,
        client_id: str | None,
        skip: Subscriber | None,
    ) -> msgspec.Raw:
        """The committed message, already encoded (it is the reply, the event and the stored
        idempotency result: encoded once for all three)."""
        future: asyncio.Future[msgspec.Raw] = asyncio.get_running_loop().create_future()
        self._queue.append(
            PendingSend(user_id, username, conversation_id, text, client_id, skip, future)
        )
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for item in self._queue:
            if not item.future.done():
                item.future.set_exception(
                    RoostError(ErrorCode.UNAVAILABLE, "server is shutting down")
                )
        self._queue.clear()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._window:
                await asyncio.sleep(self._window)  # let the sends of this millisecond gather
            while self._queue:
                batch = [
                    self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))
                ]
                try:
                    await self._commit(batch)
                except Exception as exc:
                    # An unreachable database is the router's to report, once per outage.
                    if not isinstance(exc, Unavailable):
                        log.exception("chat batch of %d failed", len(batch))
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)

    async def _commit(self, batch: list[PendingSend]) -> None:
        now = now_ms()
        conversation_ids = {item.conversation_id for item in batch}
        keys = [(i.user_id, i.client_id) for i in batch if i.client_id]
        # Receipt ids are drawn here: the generator belongs to the event loop's thread.
        receipt_ids = [self._ids.next() for _ in batch]

        def decide(state: BatchState) -> tuple[BatchWrites, CommittedBatch]:
            blocked = direct_send_refusals(state.direct_blocks)
            plan = plan_batch(batch, state.prior, state.member_ids, state.last_seqs, now, blocked)
            results = [
                (item, row, _encoder.encode(wire_new_message(row, item.username)))
                for item, row in plan.accepted
            ]
            writes = BatchWrites(
                messages=[row for _, row in plan.accepted],
                # The sender has read what they sent.
                receipts=[
                    (row.conversation_id, row.sender_id, row.seq, row.seq, receipt_id)
                    for (_, row), receipt_id in zip(plan.accepted, receipt_ids, strict=False)
                ],
                results=[
                    (item.user_id, item.client_id, SEND_OP, body, now)
                    for item, _, body in results
                    if item.client_id
                ],
            )
            return writes, CommittedBatch(plan, state.member_ids, results)

        done = await self._batches.commit(keys, conversation_ids, decide)
        plan, member_ids, results = done.plan, done.member_ids, done.results
        self.batches += 1
        # Committed: now tell everyone, then ack.
        for item, row, body in results:
            frame = encode_event("chat.message", msgspec.Raw(body))
            self._hub.publish(member_ids[row.conversation_id], frame, skip=item.skip)
            _resolve(item, body)
        for item, body in plan.replayed:
            _resolve(item, body)
        for item, error in plan.refused:
            if not item.future.done():
                item.future.set_exception(error)
        by_first = {id(item): body for item, _, body in results}
        for item, first in plan.repeats:
            _resolve(item, by_first[id(first)])


def _resolve(item: PendingSend, body: bytes) -> None:
    if not item.future.done():
        item.future.set_result(msgspec.Raw(body))


def wire_new_message(row: NewMessage, sender: str, member: str | None = None) -> wire.Message:
    return wire.Message(
        conversation=str(row.conversation_id),
        seq=row.seq,
        sender=sender,
        text=row.text,
        sent_at=datetime.fromtimestamp(row.sent_at / 1000, UTC),
        kind=row.kind,
        member=member,
    )
