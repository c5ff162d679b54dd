"""The conversation list as a plain model: the conversations most recently active first, each
one's unread count, who is online, which conversation is open, and the sends still queued
for each. Screens feed it the server's list and typed events and render what it holds; it
does no I/O, so it is tested without a server or Textual (tests/client/test_conversations.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import msgspec

from protocol import chat as wire


def target_of(conversation: wire.Conversation) -> str:
    """What a person types to reach it: `@name` for a direct chat, the id for a group."""
    return "@" + conversation.name if conversation.kind == "direct" else conversation.id


def same_target(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def needs_read(conversation: wire.Conversation) -> bool:
    """Whether reading it must tell the server: unread messages, or messages that arrived
    while it was open (not counted unread here, but past the server's read mark)."""
    return conversation.unread > 0 or conversation.last_seq > conversation.read_seq


class Arrival(enum.Enum):
    """What a message that arrived did to the list."""

    MOVED = "moved"  # a known conversation moved to the top (its unread count may have grown)
    UNKNOWN = "unknown"  # a conversation the list does not hold, or whose members changed:
    # ask the server for the list again


@dataclass
class QueuedSend:
    client_id: str
    target: str


@dataclass
class ConversationList:
    me: str
    conversations: list[wire.Conversation] = field(default_factory=list)  # newest activity first
    online: dict[str, bool] = field(default_factory=dict)  # username -> online, when known
    open_target: str | None = None  # the conversation being read: @user or an id
    open_id: str | None = None  # None for a direct chat before its first message
    queued: dict[str, QueuedSend] = field(default_factory=dict)  # by client id

    # ------------------------------------------------------------------ reading
    def find(self, conversation_id: str | None) -> wire.Conversation | None:
        return next((c for c in self.conversations if c.id == conversation_id), None)

    def find_target(self, target: str) -> wire.Conversation | None:
        return next((c for c in self.conversations if same_target(target_of(c), target)), None)

    @property
    def opened(self) -> wire.Conversation | None:
        return self.find(self.open_id)

    @property
    def unread(self) -> int:
        """Unread messages over every conversation (a badge's number)."""
        return sum(c.unread for c in self.conversations)

    def pending_for(self, target: str) -> list[str]:
        """Client ids of the sends still queued for a conversation, oldest first."""
        return [q.client_id for q in self.queued.values() if same_target(q.target, target)]

    # ------------------------------------------------------------------ the server's view
    def replace(self, conversations: list[wire.Conversation]) -> None:
        """The list as the server (or the cache) gave it, already newest first."""
        self.conversations = list(conversations)
        if self.open_target is not None and self.open_id is None:
            # A direct chat opened before it existed: it now has an id.
            found = self.find_target(self.open_target)
            self.open_id = found.id if found is not None else None

    def open(self, target: str, conversation_id: str | None = None) -> None:
        self.open_target = target
        known = self.find(conversation_id) or self.find_target(target)
        self.open_id = conversation_id or (known.id if known is not None else None)

    def close(self) -> None:
        """Nothing open any more (the person left the conversation's view)."""
        self.open_target = self.open_id = None

    def set_presence(self, user: str, online: bool) -> None:
        self.online[user] = online

    def forget_presence(self) -> None:
        """Offline: nobody's presence is known until the server answers again."""
        self.online = {}

    # ------------------------------------------------------------------ events
    def arrived(self, message: wire.Message, *, showing: bool) -> Arrival:
        """A message arrived live. `showing`: the person is looking at its conversation now,
        so it is not unread. Others' messages elsewhere count as unread; one's own never."""
        known = self.find(message.conversation)
        if (
            self.open_id is None
            and self.open_target is not None
            and same_target(self.open_target, "@" + message.sender)
            and known is None
        ):
            self.open_id = message.conversation  # the first message of the chat we have open
        if known is None or message.kind != "text":
            return Arrival.UNKNOWN
        mine = message.sender == self.me
        unread = known.unread + (0 if mine or showing else 1)
        self._to_top(_with(known, last_seq=max(known.last_seq, message.seq), unread=unread))
        return Arrival.MOVED

    def sent(self, message: wire.Message, target: str) -> Arrival:
        """One's own message was acked (sent at once, or replayed from the outbox)."""
        if self.open_target is not None and same_target(self.open_target, target):
            if self.open_id is None:
                self.open_id = message.conversation
        known = self.find(message.conversation)
        if known is None:
            return Arrival.UNKNOWN  # a direct chat its first message just created
        self._to_top(_with(known, last_seq=max(known.last_seq, message.seq)))
        return Arrival.MOVED

    def read(self, conversation_id: str) -> None:
        """Everything in it has been read (a receipt sent from here)."""
        known = self.find(conversation_id)
        if known is not None:
            done = _with(known, unread=0, read_seq=known.last_seq)
            self.conversations = [done if c.id == known.id else c for c in self.conversations]

    def added(self, conversation: wire.Conversation) -> None:
        """A conversation made from here (a new group): on top."""
        self._to_top(conversation)

    def queue(self, client_id: str, target: str) -> None:
        self.queued[client_id] = QueuedSend(client_id, target)

    def acked(self, client_id: str) -> str | None:
        """A queued send reached the server: its target, if it was queued from here."""
        queued = self.queued.pop(client_id, None)
        return queued.target if queued is not None else None

    def _to_top(self, conversation: wire.Conversation) -> None:
        rest = [c for c in self.conversations if c.id != conversation.id]
        self.conversations = [conversation, *rest]


def _with(c: wire.Conversation, **changes: int) -> wire.Conversation:
    return msgspec.structs.replace(c, **changes)
