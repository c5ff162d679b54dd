"""Blocking and muting as plain rules: what a block refuses (follows, direct messages, adding
to a group), whose notifications reach a person, and which posts a reader sees.

Both lists are private. The blocked person is never told; the refusals they can meet say
"you cannot …" and nothing more, so what they can learn is only that this one act was
refused (docs/PROTOCOL.md, "Blocks and mutes", lists what they can infer). The person who
blocked is told plainly, since it is their own list.
"""

from __future__ import annotations

from collections.abc import Iterable

from protocol.errors import ErrorCode, RoostError
from storage.server.user_blocks import Between, DirectBlock, Hiding


def check_target(me: int, target: int, verb: str) -> None:
    if target == me:
        raise RoostError(ErrorCode.INVALID_ARGS, f"you cannot {verb} yourself")


def _refusal(between: Between, username: str, act: str, undo: str) -> RoostError | None:
    """`act` names the refused act with {} for the person: what the blocked one is told."""
    if between.i_block:
        return RoostError(
            ErrorCode.FORBIDDEN, f"you have blocked @{username}: unblock them to {undo}"
        )
    if between.blocks_me:
        return RoostError(ErrorCode.FORBIDDEN, "you cannot " + act.format("@" + username))
    return None


def check_follow(between: Between, username: str) -> None:
    """Neither side of a block may follow the other (blocking ended any follow both ways)."""
    if error := _refusal(between, username, "follow {}", "follow them"):
        raise error


def check_message(between: Between, username: str) -> None:
    """No new direct conversation between a blocked pair, started by either of them."""
    if error := _refusal(between, username, "message {}", "message them"):
        raise error


def check_group_invite(between: Between, username: str) -> None:
    """Neither side of a block may put the other into a group. Groups both are already in are
    left alone: their messages pass both ways, as in Element and Signal (either may leave)."""
    if error := _refusal(between, username, "add {} to a group", "add them to a group"):
        raise error


def direct_send_refusals(blocks: Iterable[DirectBlock]) -> dict[tuple[int, int], RoostError]:
    """(conversation, sender) → why that sender's new message in that direct conversation is
    refused. The conversation itself stays readable to both."""
    out: dict[tuple[int, int], RoostError] = {}
    for b in blocks:
        out[(b.conversation_id, b.blocker_id)] = RoostError(
            ErrorCode.FORBIDDEN, f"you have blocked @{b.blocked}: unblock them to message them"
        )
        out.setdefault(
            (b.conversation_id, b.blocked_id),
            RoostError(ErrorCode.FORBIDDEN, f"you cannot message @{b.blocker}"),
        )
    return out


def notifies(recipient_sees_actor: Between) -> bool:
    """A notification reaches its recipient unless they blocked or muted the actor
    (`Between` taken from the recipient's side)."""
    return not (recipient_sees_actor.i_block or recipient_sees_actor.i_mute)


def hidden_on_profile(hiding: Hiding, author_id: int) -> frozenset[int] | None:
    """What stays hidden on `author_id`'s own timeline: None when the reader blocked them
    (nothing of theirs is shown); a muted author's own page still shows their posts, since
    the reader went to look (as on Mastodon), but reposts of hidden people stay hidden."""
    if author_id in hiding.blocked:
        return None
    return hiding.anyone - {author_id}
