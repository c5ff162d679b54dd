"""The typed events a client hears, one struct per kind: each server push (docs/PROTOCOL.md,
"Events") decoded into its own struct, and what the client itself learns (a queued write the
server acked on replay, a follow that changed, the link going up or down).

`decode_server_event` is the one place a server event's name is read; everything above it
matches on types (`match event: case NewMessage(message=m): ...`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from protocol import chat, profiles, social
from protocol.envelope import Event

if TYPE_CHECKING:
    from protocol import files


class NewPost(msgspec.Struct, frozen=True):
    """A post reached your home timeline (yours, or someone's you follow)."""

    post: social.Post


class PostDeleted(msgspec.Struct, frozen=True):
    post_id: str


class NewNotification(msgspec.Struct, frozen=True):
    notification: social.Notification


class NewMessage(msgspec.Struct, frozen=True):
    """A chat message (or a group change) in one of your conversations; the client has stored
    it and told the server this device has it before the event is handed on."""

    message: chat.Message


class ReceiptChanged(msgspec.Struct, frozen=True):
    """A member received or read further; kept in the client's receipts before it is handed on."""

    receipt: chat.Receipt


class TypingChanged(msgspec.Struct, frozen=True):
    typing: chat.Typing


class PresenceChanged(msgspec.Struct, frozen=True):
    presence: chat.Presence


class ProfileUpdated(msgspec.Struct, frozen=True):
    """Your own profile changed (on this device or another)."""

    profile: profiles.Profile


class FilesChanged(msgspec.Struct, frozen=True):
    """A namespace you can read has a new journal entry."""

    change: files.FilesChanged


class FileIncoming(msgspec.Struct, frozen=True):
    """A file on its way into a namespace you can read: its blocks so far (`files.announce`)."""

    incoming: files.FilesIncoming


class ShareMembershipChanged(msgspec.Struct, frozen=True):
    """You joined or left a shared folder (or it was unshared with you)."""

    change: files.MembershipChanged


class ShareInvitationChanged(msgspec.Struct, frozen=True):
    invitation: files.InvitationChanged


class WriteAcked(msgspec.Struct, frozen=True):
    """A write queued in the outbox was committed by the server on replay (by whichever
    process replayed it). `local_id`: the `local:N` id it stood under, now `created_id`."""

    client_id: str
    op: str
    result: Any
    local_id: str | None = None
    created_id: str | None = None


class FollowChanged(msgspec.Struct, frozen=True):
    """You followed, unfollowed, blocked, unblocked, muted or unmuted someone (sent now or
    acked on replay): timelines that depend on it are stale."""

    profile: social.UserProfile


class LinkChanged(msgspec.Struct, frozen=True):
    """The kept connection's state (under `stay_connected`): `retry_in` seconds until the next
    attempt while reconnecting; `replayed` once the outbox has been replayed after connecting."""

    state: str  # connecting | connected | reconnecting | closed
    retry_in: float = 0.0
    replayed: bool = False


ClientEvent = (
    NewPost
    | PostDeleted
    | NewNotification
    | NewMessage
    | ReceiptChanged
    | TypingChanged
    | PresenceChanged
    | ProfileUpdated
    | FilesChanged
    | FileIncoming
    | ShareMembershipChanged
    | ShareInvitationChanged
    | WriteAcked
    | FollowChanged
    | LinkChanged
)


def _decoder(kind: type[Any], wrap: Callable[[Any], ClientEvent]) -> Callable[[bytes], ClientEvent]:
    decoder = msgspec.json.Decoder(kind)
    return lambda data: wrap(decoder.decode(data))


def _later(
    module: str, name: str, wrap: Callable[[Any], ClientEvent]
) -> Callable[[bytes], ClientEvent]:
    """A decoder whose type's module is imported when the first such event arrives (the files
    protocol is large, and the terminal app paints its cached timeline before any event)."""

    @functools.cache
    def decoder() -> msgspec.json.Decoder[Any]:
        return msgspec.json.Decoder(getattr(importlib.import_module(module), name))

    return lambda data: wrap(decoder().decode(data))


# Server event name -> how its data becomes a typed event. tests/client/test_events.py checks
# that every event the protocol names (protocol.ops.EVENTS) has an entry.
SERVER_EVENTS: dict[str, Callable[[bytes], ClientEvent]] = {
    "post.created": _decoder(social.Post, NewPost),
    "post.deleted": _decoder(social.Deleted, lambda d: PostDeleted(d.post_id)),
    "notification.new": _decoder(social.Notification, NewNotification),
    "chat.message": _decoder(chat.Message, NewMessage),
    "chat.receipt": _decoder(chat.Receipt, ReceiptChanged),
    "chat.typing": _decoder(chat.Typing, TypingChanged),
    "presence.changed": _decoder(chat.Presence, PresenceChanged),
    "profile.updated": _decoder(profiles.Profile, ProfileUpdated),
    "files.changed": _later("protocol.files", "FilesChanged", FilesChanged),
    "files.incoming": _later("protocol.files", "FilesIncoming", FileIncoming),
    "files.membership": _later("protocol.files", "MembershipChanged", ShareMembershipChanged),
    "files.invitation": _later("protocol.files", "InvitationChanged", ShareInvitationChanged),
}


def decode_server_event(event: Event) -> ClientEvent | None:
    """The typed event for a server push; None for one this version does not know, or whose
    data it cannot read (a newer server may add events and fields: never fatal)."""
    decode = SERVER_EVENTS.get(event.event)
    if decode is None:
        return None
    try:
        return decode(bytes(event.data))
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
