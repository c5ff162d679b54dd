"""Writes that could not reach the server, kept in order and replayed on the next connection.

Each entry carries its idempotency key (`client_id`) inside its args, so replaying an entry
whose first attempt did reach the server (but whose ack was lost) returns the first result
instead of applying it again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from client.connection import Connection
from client.errors import ServerError
from storage.outbox import OutboxEntry, OutboxRepository

MAX_RATE_LIMIT_WAITS = 5

Replayed = Callable[[OutboxEntry, bytes], Awaitable[None]]


def new_client_id() -> str:
    return uuid.uuid4().hex


@dataclass
class ReplayReport:
    sent: list[OutboxEntry] = field(default_factory=list)
    failed: list[tuple[OutboxEntry, ServerError]] = field(default_factory=list)


class Outbox:
    def __init__(self, repo: OutboxRepository) -> None:
        self._repo = repo
        self._replaying = asyncio.Lock()

    async def enqueue(self, op: str, args: msgspec.Struct) -> OutboxEntry:
        client_id = getattr(args, "client_id", None)
        if not client_id:
            raise ValueError(f"{op} args need a client_id to be queued")
        return await self._repo.add(client_id, op, msgspec.json.encode(args))

    async def entries(self) -> list[OutboxEntry]:
        return await self._repo.entries()

    async def count(self) -> int:
        return await self._repo.count()

    async def drop(self, seq: int) -> bool:
        entries = {e.seq for e in await self._repo.entries()}
        if seq not in entries:
            return False
        await self._repo.remove(seq)
        return True

    async def replay(self, conn: Connection, on_replayed: Replayed | None = None) -> ReplayReport:
        """Send pending entries in order. A refused entry is kept, marked failed, and skipped;
        a transient refusal or a lost connection stops the replay (the rest wait their turn).
        """
        report = ReplayReport()
        async with self._replaying:
            while pending := await self._repo.entries(include_failed=False):
                await self._replay_batch(conn, pending, report, on_replayed)
        return report

    async def _replay_batch(
        self,
        conn: Connection,
        pending: list[OutboxEntry],
        report: ReplayReport,
        on_replayed: Replayed | None,
    ) -> None:
        # Entries queued while this batch is sent are picked up by the caller's next pass.
        for entry in pending:
            await self._repo.mark_attempt(entry.seq)
            try:
                result = await self._send(conn, entry)
            except ServerError as exc:
                if exc.transient:
                    raise
                await self._repo.mark_failed(entry.seq, exc.code, exc.message)
                report.failed.append((entry, exc))
                continue
            await self._repo.remove(entry.seq)
            report.sent.append(entry)
            if on_replayed is not None:
                await on_replayed(entry, result)

    async def _send(self, conn: Connection, entry: OutboxEntry) -> bytes:
        for _ in range(MAX_RATE_LIMIT_WAITS):
            try:
                return await conn.call_raw(entry.op, entry.args)
            except ServerError as exc:
                if exc.code != "rate_limited" or exc.retry_after is None:
                    raise
                await asyncio.sleep(exc.retry_after)
        return await conn.call_raw(entry.op, entry.args)
