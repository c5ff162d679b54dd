"""Chat targets as people type them: `@bob` or `bob` for a person, a group by its name when it
is unique among your conversations, or a conversation id (whole, a 6+ digit suffix, `#N`).
A plain function over the conversation list this device last saw."""

from __future__ import annotations

from collections.abc import Sequence

from client.errors import ClientError
from client.ids import resolve_id
from protocol import chat as wire


class BadTarget(ClientError):
    """What was typed names no one to write to, or several."""


def chat_target(
    typed: str,
    conversations: Sequence[wire.Conversation],
    listed: Sequence[str] = (),
) -> str:
    """The wire target (`@user` or a conversation id) for what was typed. `listed`: the
    conversation ids of the last `roost chat list`, for `#N`."""
    text = typed.strip()
    if text.startswith("@"):
        return text
    if text.startswith("#") or text.isdigit():
        seen = [c.id for c in conversations]
        return resolve_id(text, "conversation", listed, seen)
    folded = text.casefold()
    groups = [c for c in conversations if c.kind == "group" and c.name.casefold() == folded]
    direct = any(c.kind == "direct" and c.name.casefold() == folded for c in conversations)
    if len(groups) > 1 or (groups and direct):
        named = ", ".join(f"the group {c.id}" for c in groups)
        person = f"@{text}, " if direct else ""
        raise BadTarget(f"{text!r} names {person}{named}: type @{text} or the group's id")
    if groups:
        return groups[0].id
    if not text:
        raise BadTarget("no chat target given: type @user, a group's name or its id")
    return "@" + text  # a person; the server says whether they exist
