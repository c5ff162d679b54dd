"""Writes that could not reach the server, kept in order and replayed on the next connection.

Each entry carries its idempotency key (`client_id`) inside its args, so replaying an entry
whose first attempt did reach the server (but whose ack was lost) returns the first result
instead of applying it again.

An entry that creates something (a post) has a local id, `local:SEQ`, that later writes may
use in place of the server's id (a reply to, or a like of, a post still in the outbox). Replay
records the server's id for each local id and swaps it into the entries that name it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from client.boundary import translate_storage_errors
from client.connection import Connection
from client.errors import ClientError, ServerError
from storage.client.outbox import OutboxEntry, OutboxRepository

__all__ = ["LOCAL_ID", "Outbox", "OutboxEntry", "ReplayReport", "local_id", "new_client_id"]

MAX_RATE_LIMIT_WAITS = 5

Replayed = Callable[[OutboxEntry, bytes], Awaitable[None]]

# Ops whose result names what they created: op -> the result field holding its server id.
CREATES_ID: dict[str, str] = {"post.create": "id", "post.repost": "id"}
LOCAL_ID = re.compile(r"\Alocal:([0-9]{1,18})\Z")
UNRESOLVED = "unresolved"  # the failed_code of an entry whose local reference never got an id


def local_id(entry: OutboxEntry) -> str | None:
    """The id later writes use for what this queued entry will create, if anything."""
    return f"local:{entry.seq}" if entry.op in CREATES_ID else None


def new_client_id() -> str:
    return uuid.uuid4().hex


@dataclass
class ReplayReport:
    sent: list[OutboxEntry] = field(default_factory=list)
    failed: list[tuple[OutboxEntry, ServerError]] = field(default_factory=list)


@translate_storage_errors
class Outbox:
    def __init__(self, repo: OutboxRepository) -> None:
        self._repo = repo
        self._replaying = asyncio.Lock()

    async def enqueue(self, op: str, args: msgspec.Struct) -> OutboxEntry:
        """Queue a write; `local:N` ids in its args must name queued entries (or ones already
        sent, whose server id is then put in at once)."""
        client_id = getattr(args, "client_id", None)
        if not client_id:
            raise ValueError(f"{op} args need a client_id to be queued")
        args, refs = await self.resolve(args, allow_pending=True)
        return await self._repo.add(
            client_id,
            op,
            msgspec.json.encode(args),
            msgspec.json.encode(refs).decode() if refs else None,
        )

    async def resolve(
        self, args: msgspec.Struct, *, allow_pending: bool = False
    ) -> tuple[msgspec.Struct, dict[str, str]]:
        """Swap `local:N` ids in args for server ids where known. Returns the args and the
        references still waiting on a queued entry (only allowed with `allow_pending`)."""
        changes: dict[str, str] = {}
        pending: dict[str, str] = {}
        for name in args.__struct_fields__:
            value = getattr(args, name)
            if not isinstance(value, str) or not LOCAL_ID.fullmatch(value):
                continue
            server_id = await self._repo.server_id(value)
            if server_id is not None:
                changes[name] = server_id
                continue
            entry = await self._repo.get_seq(int(value.split(":", 1)[1]))
            if entry is None or local_id(entry) != value:
                raise ClientError(f"{value} is not a queued post (see roost outbox)")
            if entry.failed or not allow_pending:
                raise ClientError(
                    f"{value} was not accepted by the server ({entry.failed_message or 'still'}"
                    " queued); see roost outbox"
                )
            pending[name] = value
        return msgspec.structs.replace(args, **changes) if changes else args, pending

    async def _swap_refs(self, entry: OutboxEntry) -> bytes | None:
        """The entry's args with local ids swapped for server ids; None if one has none."""
        if not entry.refs:
            return entry.args
        args = msgspec.json.decode(entry.args)
        for name, local in msgspec.json.decode(entry.refs).items():
            server_id = await self._repo.server_id(local)
            if server_id is None:
                return None
            args[name] = server_id
        return msgspec.json.encode(args)

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
        # Entries queued while this batch is sent are picked up by the next pass.
        for entry in pending:
            args = await self._swap_refs(entry)
            if args is None:
                error = ServerError(
                    UNRESOLVED, "it refers to a queued post the server did not accept"
                )
                await self._repo.mark_failed(entry.seq, error.code, error.message)
                report.failed.append((entry, error))
                continue
            await self._repo.mark_attempt(entry.seq)
            try:
                result = await self._send(conn, entry.op, args)
            except ServerError as exc:
                if exc.transient:
                    raise
                await self._repo.mark_failed(entry.seq, exc.code, exc.message)
                report.failed.append((entry, exc))
                continue
            created = local_id(entry)
            if created is not None:
                server_id = msgspec.json.decode(result).get(CREATES_ID[entry.op])
                if isinstance(server_id, str):
                    await self._repo.remember_id(created, server_id)
            await self._repo.remove(entry.seq)
            report.sent.append(entry)
            if on_replayed is not None:
                await on_replayed(entry, result)

    async def _send(self, conn: Connection, op: str, args: bytes) -> bytes:
        for _ in range(MAX_RATE_LIMIT_WAITS):
            try:
                return await conn.call_raw(op, args)
            except ServerError as exc:
                if exc.code != "rate_limited" or exc.retry_after is None:
                    raise
                await asyncio.sleep(exc.retry_after)
        return await conn.call_raw(op, args)
