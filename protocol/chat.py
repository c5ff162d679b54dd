"""Ops and events for chat: direct and group conversations, messages with a gap-free per-
conversation `seq`, receipts, catch-up by cursors, typing indicators and presence.

A TARGET is `@username` (the direct conversation with that user) or a conversation id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec

from protocol.errors import ErrorCode, RoostError
from protocol.spec import OpSpec
from protocol.types import (
    NO_CONTROLS,
    NO_CONTROLS_BUT_LINES,
    ClientId,
    Empty,
    Id,
    MultiLine,
    SingleLine,
    Username,
)

MAX_MESSAGE_CHARS = 4000
MAX_GROUP_MEMBERS = 256
TYPING_SECONDS = 6.0  # a typing indicator lapses this long after the last chat.typing

_TARGET = r"\A(@[A-Za-z0-9_]{3,32}|[0-9]{1,19})\Z"
_TARGET_RE = re.compile(_TARGET)
Target = Annotated[str, msgspec.Meta(pattern=_TARGET, description="@username or a conversation id")]
MessageText = Annotated[
    MultiLine,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        description=f"1-{MAX_MESSAGE_CHARS} characters, {NO_CONTROLS_BUT_LINES}",
    ),
]
GroupName = Annotated[
    SingleLine,
    msgspec.Meta(min_length=1, max_length=64, description=f"1-64 characters, {NO_CONTROLS}"),
]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)]
PageSize = Annotated[int, msgspec.Meta(ge=1, le=500)]


@dataclass(frozen=True, slots=True)
class DirectTarget:
    username: str  # lower-case


@dataclass(frozen=True, slots=True)
class ConversationTarget:
    conversation_id: int


def parse_target(text: str) -> DirectTarget | ConversationTarget:
    """`@user` or a conversation id; RoostError(invalid_args) for anything else."""
    if not _TARGET_RE.fullmatch(text):
        raise RoostError(
            ErrorCode.INVALID_ARGS,
            f"{text[:40]!r} is not a chat target: use @username or a conversation id",
        )
    if text.startswith("@"):
        return DirectTarget(text[1:].lower())
    value = int(text)
    if value >= 2**63:
        raise RoostError(ErrorCode.INVALID_ARGS, f"conversation id {text} is out of range")
    return ConversationTarget(value)


# --------------------------------------------------------------------------- results
class Message(msgspec.Struct, omit_defaults=True):
    """One entry of a conversation. `kind` is `text`, or a membership change (`created`,
    `added`, `removed`, `left`, or `deleted`: the member's account was deleted) naming the
    `member` it concerns."""

    conversation: str
    seq: int
    sender: str
    text: str
    sent_at: datetime
    kind: str = "text"
    member: str | None = None


class Conversation(msgspec.Struct):
    id: str
    kind: str  # direct | group
    name: str  # the group's name; for a direct conversation, the other person's username
    members: list[str]
    last_seq: int
    read_seq: int  # the caller's read receipt
    unread: int  # messages from others after read_seq
    member: bool = True  # False once the caller left or was removed


class ConversationList(msgspec.Struct):
    conversations: list[Conversation]


class MessagePage(msgspec.Struct):
    conversation: str | None  # None: no direct conversation with that user yet
    messages: list[Message]  # oldest first
    more: bool  # older messages exist before the first one


class Receipt(msgspec.Struct):
    """How far one member has received (delivered) and read one conversation."""

    conversation: str
    user: str
    delivered_seq: int
    read_seq: int
    id: str  # increases with every receipt change; the catch-up cursor for receipts


class Cursor(msgspec.Struct, forbid_unknown_fields=True):
    conversation: Id
    seq: Seq


class CatchUpResult(msgspec.Struct):
    conversations: list[Conversation]  # every conversation the caller is or was in
    messages: list[Message]  # after the cursors, by conversation then seq
    receipts: list[Receipt]  # changed after receipts_after
    receipts_cursor: str | None
    more: bool  # messages were cut at the limit: ask again with the new cursors


class Presence(msgspec.Struct):
    user: str
    online: bool


class PresenceList(msgspec.Struct):
    users: list[Presence]


class Typing(msgspec.Struct):
    conversation: str
    user: str
    typing: bool
    expires_in: float


# --------------------------------------------------------------------------- args
class SendMessage(msgspec.Struct, forbid_unknown_fields=True):
    to: Target
    text: MessageText
    client_id: ClientId | None = None


class CreateGroup(msgspec.Struct, forbid_unknown_fields=True):
    name: GroupName
    members: Annotated[list[Username], msgspec.Meta(max_length=MAX_GROUP_MEMBERS)]
    client_id: ClientId | None = None


class GroupMember(msgspec.Struct, forbid_unknown_fields=True):
    conversation: Id
    username: Username
    client_id: ClientId | None = None


class LeaveGroup(msgspec.Struct, forbid_unknown_fields=True):
    conversation: Id
    client_id: ClientId | None = None


class History(msgspec.Struct, forbid_unknown_fields=True):
    to: Target
    limit: PageSize = 50
    before: Seq | None = None  # only messages with seq < before


class MarkRead(msgspec.Struct, forbid_unknown_fields=True):
    to: Target
    seq: Seq | None = None  # None: everything so far
    client_id: ClientId | None = None


class Delivered(msgspec.Struct, forbid_unknown_fields=True):
    cursors: Annotated[list[Cursor], msgspec.Meta(max_length=1000)]


class CatchUp(msgspec.Struct, forbid_unknown_fields=True):
    cursors: Annotated[list[Cursor], msgspec.Meta(max_length=10_000)] = []
    receipts_after: Id | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=2000)] = 1000


class SetTyping(msgspec.Struct, forbid_unknown_fields=True):
    conversation: Id
    typing: bool = True


SPECS = [
    OpSpec("chat.send", SendMessage, Message, write=True, summary="send a message"),
    OpSpec("chat.group.create", CreateGroup, Conversation, write=True, summary="start a group"),
    OpSpec("chat.group.add", GroupMember, Conversation, write=True, summary="add a group member"),
    OpSpec("chat.group.remove", GroupMember, Conversation, write=True, summary="remove a member"),
    OpSpec("chat.group.leave", LeaveGroup, Conversation, write=True, summary="leave a group"),
    OpSpec("chat.list", Empty, ConversationList, summary="the caller's conversations"),
    OpSpec("chat.history", History, MessagePage, summary="a page of a conversation by seq"),
    OpSpec("chat.read", MarkRead, Receipt, write=True, summary="mark a conversation read"),
    OpSpec("chat.delivered", Delivered, Empty, summary="acknowledge received messages"),
    OpSpec("chat.catch_up", CatchUp, CatchUpResult, summary="everything missed since the cursors"),
    # The name before 1.0 (clients installed then still call it): the same op.
    OpSpec("chat.sync", CatchUp, CatchUpResult, summary="old name of chat.catch_up"),
    OpSpec("chat.typing", SetTyping, Empty, summary="show or stop a typing indicator"),
    OpSpec("presence.get", Empty, PresenceList, summary="who of the caller's contacts is online"),
]
EVENTS: dict[str, type[msgspec.Struct]] = {
    "chat.message": Message,
    "chat.receipt": Receipt,
    "chat.typing": Typing,
    "presence.changed": Presence,
}
