"""Chat rules as plain functions: who hears of a receipt, how far a receipt may go, who may be
invited or removed. Handlers in server/chat/handlers.py call these; tests call them directly."""

from __future__ import annotations

from collections.abc import Iterable

from protocol.errors import ErrorCode, RoostError


def receipt_audience(senders: Iterable[int], reader: int) -> list[int]:
    """A receipt goes to the people whose messages it covers, and to the reader's own devices
    (so reading on the phone clears the unread count on the laptop)."""
    return sorted({*senders, reader})


def readable_seq(last_seq: int, left_seq: int | None, requested: int | None) -> int:
    """The seq a receipt may move to: what was asked (all so far if nothing was), never past
    the conversation's end or, for someone who left, past their leaving."""
    top = last_seq if left_seq is None else left_seq
    return top if requested is None else max(0, min(requested, top))


def invitees(usernames: Iterable[str], creator: str) -> list[str]:
    """The other members of a new group: lower-cased, each once, without the creator."""
    names = sorted({name.lower() for name in usernames} - {creator.lower()})
    if not names:
        raise RoostError(ErrorCode.INVALID_ARGS, "a group needs at least one other member")
    return names


def check_removal(created_by: int, caller_id: int, caller: str, username: str) -> None:
    """Only the group's creator removes members; anyone may leave (but not by removal)."""
    if username.lower() == caller.lower():
        raise RoostError(ErrorCode.INVALID_ARGS, "to leave a group, use chat.group.leave")
    if created_by != caller_id:
        raise RoostError(ErrorCode.FORBIDDEN, "only the group's creator can remove members")
