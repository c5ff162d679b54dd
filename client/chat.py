"""Chat for the CLI and TUI (`client.chat`, one per client): catch-up by cursors, a local
message store for offline reading, delivery acknowledgements, and the chat writes (queued in
the outbox when offline; the client stores one's own message once the server acks it, sent
at once or replayed later)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from client.boundary import translate_storage_errors
from client.connection import Connection
from client.core import Read, RoostClient, Written
from client.errors import Unreachable
from protocol import chat as wire
from protocol.types import Empty

CONVERSATIONS_CACHE = ("chat.list", "all")
RECEIPTS_CURSOR = ("chat.catch_up", "receipts_cursor")
RECEIPTS_CACHE = "chat.receipts"  # key: conversation id -> the members' latest receipts
CATCH_UP_PAGE = 1000
MAX_CATCH_UP_PAGES = 1000  # bounded: a million entries per catch-up

_message = msgspec.json.Decoder(wire.Message)
_conversations = msgspec.json.Decoder(list[wire.Conversation])
_receipts = msgspec.json.Decoder(list[wire.Receipt])
_send_args = msgspec.json.Decoder(wire.SendMessage)


@dataclass
class QueuedSend:
    """A message still waiting in the outbox (shown as pending)."""

    client_id: str
    text: str
    queued_at: datetime


@dataclass
class CaughtUp:
    messages: list[wire.Message]
    receipts: list[wire.Receipt]
    conversations: list[wire.Conversation]


@translate_storage_errors
class ChatClient:
    def __init__(self, client: RoostClient) -> None:
        self._client = client
        self._store = client.chat_store
        # Receipts are read-merge-written: a live receipt and a catch-up page must not
        # overwrite each other.
        self._receipts_lock = asyncio.Lock()

    # ---------------------------------------------------------------- catch-up
    async def catch_up(self) -> CaughtUp:
        """Fetch everything missed since this device's cursors, store it, acknowledge it."""
        conn = await self._client.connect()
        me = self._client.home.require_account().username
        cursors = await self._store.cursors()
        cached = await self._client.cache.get(*RECEIPTS_CURSOR)
        receipts_after = cached.value.decode() if cached else None
        caught = CaughtUp([], [], [])
        for _ in range(MAX_CATCH_UP_PAGES):
            page: wire.CatchUpResult = await conn.call(
                "chat.catch_up",
                wire.CatchUp(
                    cursors=[wire.Cursor(c, s) for c, s in cursors.items()],
                    receipts_after=receipts_after,
                    limit=CATCH_UP_PAGE,
                ),
            )
            await self._keep(page.messages)
            moved = _last_seqs(page.messages)
            await self._store.advance_cursors(moved)
            cursors.update(moved)
            await self._acknowledge(page.messages, me)
            await self.keep_receipts(page.receipts)
            caught.messages += page.messages
            caught.receipts += page.receipts
            caught.conversations = page.conversations
            receipts_after = page.receipts_cursor
            if not page.more:
                break
        if receipts_after is not None:
            await self._client.cache.put(*RECEIPTS_CURSOR, receipts_after.encode())
        await self._remember_conversations(caught.conversations)
        return caught

    async def received(self, message: wire.Message, via: Connection | None = None) -> None:
        """Keep a message that arrived live and tell the server this device has it (the
        client does this for each `chat.message` push before handing it on); its cursor moves
        only when no seq is missing before it, so a gap is filled by the next catch-up.

        `via`: the connection it came on, which carries the acknowledgement; if that one is
        gone the next catch-up acknowledges instead (an event never opens a connection, nor
        replays the outbox behind the caller's back)."""
        await self._keep([message])
        cursors = await self._store.cursors()
        if cursors.get(message.conversation, 0) + 1 == message.seq:
            await self._store.advance_cursors({message.conversation: message.seq})
        me = self._client.home.require_account().username
        await self._acknowledge([message], me, via)

    async def keep_receipts(self, receipts: list[wire.Receipt]) -> None:
        """Remember each member's newest receipt per conversation (they only move forward),
        so marks on one's own messages show offline and after a restart."""
        by_conversation: dict[str, list[wire.Receipt]] = {}
        for r in receipts:
            by_conversation.setdefault(r.conversation, []).append(r)
        async with self._receipts_lock:
            await self._merge_receipts(by_conversation)

    async def _merge_receipts(self, by_conversation: dict[str, list[wire.Receipt]]) -> None:
        for conversation, changed in by_conversation.items():
            known = {r.user: r for r in await self.receipts(conversation)}
            for r in changed:
                old = known.get(r.user)
                if old is None or int(r.id) > int(old.id):
                    known[r.user] = r
            await self._client.cache.put(
                RECEIPTS_CACHE, conversation, msgspec.json.encode(list(known.values()))
            )

    # ---------------------------------------------------------------- reads
    async def conversations(self) -> Read[list[wire.Conversation]]:
        """Every conversation with unread counts (after catching up); cached when offline."""
        try:
            caught = await self.catch_up()
        except Unreachable:
            cached = await self._client.cache.get(*CONVERSATIONS_CACHE)
            if cached is None:
                raise
            return Read(_conversations.decode(cached.value), True, cached.updated_at)
        return Read(caught.conversations, False)

    async def history(
        self, target: str, *, limit: int, before: int | None
    ) -> Read[wire.MessagePage]:
        """A page of a conversation; offline, the page as far as this device has it."""
        wire.parse_target(target)  # a bad target is a usage error even offline
        try:
            page: wire.MessagePage = await self._client.call(
                "chat.history", wire.History(to=target, limit=limit, before=before)
            )
        except Unreachable:
            return await self._cached_history(target, limit=limit, before=before)
        if page.conversation is not None:
            await self._store.remember_target(_key(target), page.conversation)
            await self._keep(page.messages)
            await self._acknowledge(page.messages, self._client.home.require_account().username)
        return Read(page, False)

    async def _cached_history(
        self, target: str, *, limit: int, before: int | None
    ) -> Read[wire.MessagePage]:
        conversation = await self._store.conversation_for(_key(target))
        if conversation is None:
            raise Unreachable(f"the server is unreachable and nothing of {target} is cached")
        bodies, more = await self._store.page(conversation, before=before, limit=limit)
        messages = [_message.decode(b) for b in bodies]
        return Read(wire.MessagePage(conversation, messages, more), True)

    async def cached_conversations(self) -> list[wire.Conversation] | None:
        """The conversation list as last fetched, for painting before the server answers."""
        cached = await self._client.cache.get(*CONVERSATIONS_CACHE)
        return _conversations.decode(cached.value) if cached else None

    async def cached_messages(self, target: str, *, limit: int) -> list[wire.Message]:
        """The newest messages of a conversation this device holds (none if unknown)."""
        conversation = await self._store.conversation_for(_key(target))
        if conversation is None:
            return []
        bodies, _ = await self._store.page(conversation, before=None, limit=limit)
        return [_message.decode(b) for b in bodies]

    async def receipts(self, conversation: str) -> list[wire.Receipt]:
        cached = await self._client.cache.get(RECEIPTS_CACHE, conversation)
        return _receipts.decode(cached.value) if cached else []

    async def queued_sends(self, target: str) -> list[QueuedSend]:
        """Messages to this target still waiting in the outbox, oldest first."""
        queued = []
        for entry in await self._client.outbox.entries():
            if entry.op != "chat.send" or entry.failed:
                continue
            args = _send_args.decode(entry.args)
            if _key(args.to) == _key(target):
                at = datetime.fromtimestamp(entry.created_at / 1000, UTC)
                queued.append(QueuedSend(entry.client_id, args.text, at))
        return queued

    async def presence(self) -> list[wire.Presence]:
        result: wire.PresenceList = await self._client.call("presence.get", Empty())
        return result.users

    # ---------------------------------------------------------------- writes
    async def send(self, target: str, text: str) -> Written[wire.Message]:
        """Send, or queue while offline; either way the acked message lands in the chat store
        (the client does that, RoostClient._remember_write)."""
        return await self._client.write("chat.send", wire.SendMessage(to=target, text=text))

    async def kept_sent(self, message: wire.Message, target: str) -> None:
        """Store one's own message once the server acked it (also after an outbox replay)."""
        await self._store.remember_target(_key(target), message.conversation)
        await self._keep([message])

    async def kept_group(self, group: wire.Conversation) -> None:
        """A group the server made for us is a target by its id from now on."""
        await self._store.remember_target(group.id, group.id)

    async def typing(self, conversation: str, typing: bool = True) -> None:
        """Show (or stop) the typing indicator; ephemeral, so dropped when offline."""
        try:
            await self._client.call(
                "chat.typing", wire.SetTyping(conversation=conversation, typing=typing)
            )
        except Unreachable:
            pass

    async def create_group(self, name: str, members: list[str]) -> Written[wire.Conversation]:
        return await self._client.write(
            "chat.group.create", wire.CreateGroup(name=name, members=members)
        )

    async def add(self, conversation: str, username: str) -> Written[wire.Conversation]:
        return await self._client.write(
            "chat.group.add", wire.GroupMember(conversation=conversation, username=username)
        )

    async def remove(self, conversation: str, username: str) -> Written[wire.Conversation]:
        return await self._client.write(
            "chat.group.remove", wire.GroupMember(conversation=conversation, username=username)
        )

    async def leave(self, conversation: str) -> Written[wire.Conversation]:
        return await self._client.write(
            "chat.group.leave", wire.LeaveGroup(conversation=conversation)
        )

    async def read(self, target: str, seq: int | None = None) -> Written[wire.Receipt]:
        return await self._client.write("chat.read", wire.MarkRead(to=target, seq=seq))

    # ---------------------------------------------------------------- internals
    async def _keep(self, messages: list[wire.Message]) -> None:
        await self._store.put_messages(
            [(m.conversation, m.seq, msgspec.json.encode(m)) for m in messages]
        )

    async def _acknowledge(
        self, messages: list[wire.Message], me: str, via: Connection | None = None
    ) -> None:
        """Tell the server this device received others' messages (the `delivered` state)."""
        received = _last_seqs([m for m in messages if m.sender != me])
        if not received:
            return
        delivered = wire.Delivered([wire.Cursor(c, s) for c, s in received.items()])
        try:
            if via is not None:
                await via.call("chat.delivered", delivered)
            else:
                await self._client.call("chat.delivered", delivered)
        except Unreachable:
            pass  # the next sync acknowledges again

    async def _remember_conversations(self, conversations: list[wire.Conversation]) -> None:
        await self._client.cache.put(*CONVERSATIONS_CACHE, msgspec.json.encode(conversations))
        for c in conversations:
            await self._store.remember_target(c.id, c.id)
            if c.kind == "direct":
                await self._store.remember_target("@" + c.name, c.id)


def _last_seqs(messages: list[wire.Message]) -> dict[str, int]:
    last: dict[str, int] = {}
    for m in messages:
        last[m.conversation] = max(last.get(m.conversation, 0), m.seq)
    return last


def _key(target: str) -> str:
    return target.lower()


def describe(message: wire.Message) -> str:
    """One line for a conversation entry, as the CLI prints it."""
    what: dict[str, str] = {
        "created": f"created the group {message.text!r}",
        "added": f"added @{message.member}",
        "removed": f"removed @{message.member}",
        "left": "left the group",
        "deleted": "account deleted",  # they left every conversation; their messages stay
    }
    return what.get(message.kind, message.text)
