"""Handlers for block.* and mute.*: each acts on the caller's own lists only and tells nobody
else (no event, no notification). Blocking also ends any follow between the two, both ways.
What the lists then change is in `server/social/block_rules.py`; the caches a change touches are
dropped after commit, so the next read after the ack sees it."""

from __future__ import annotations

from protocol import blocking as wire
from protocol import social as social_wire
from protocol.errors import ErrorCode, RoostError
from server.context import OpContext
from server.router import Handler
from server.social import block_rules, follows
from server.social.services import when
from storage.database import now_ms
from storage.server.user_blocks import ListKind


async def _target(ctx: OpContext, username: str, verb: str) -> int:
    user_id = await ctx.services.users.id_of(ctx.conn, username)
    if user_id is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    block_rules.check_target(ctx.identity.user_id, user_id, verb)
    return user_id


async def _sever_follows(ctx: OpContext, a: int, b: int) -> None:
    """Both follows between a and b end, each follower's timeline loses the other's posts,
    and a follow request waiting either way goes (with its notification)."""
    social, tx = ctx.services.social, ctx.write_tx
    for follower, followee in ((a, b), (b, a)):
        if await social.follows.unfollow(tx, follower, followee):
            await social.timelines.remove_author(tx, follower, followee)
        if await social.visibility.withdraw(tx, follower, followee):
            await social.notifications.remove(tx, followee, "follow_request", follower, None)


async def _change(
    ctx: OpContext, args: social_wire.UserRef, kind: ListKind, on: bool
) -> social_wire.UserProfile:
    social, me = ctx.services.social, ctx.identity.user_id
    verb = kind if on else f"un{kind}"
    target = await _target(ctx, args.username, verb)
    # A follow between the two racing a block waits for it, then finds the block (or is
    # severed by it): never a follow that outlives a block.
    await social.follows.hold(ctx.write_tx, [me, target])
    if on:
        changed = await social.blocks.add(ctx.write_tx, kind, me, target, now_ms())
        if changed and kind == "block":
            await _sever_follows(ctx, me, target)
    else:
        changed = await social.blocks.remove(ctx.write_tx, kind, me, target)
    if changed:

        def forget() -> None:
            social.forget_hiding([me])
            social.forget_homes([me, target])

        ctx.after_commit(forget)
    return await follows.profile(ctx, social_wire.GetUser(username=args.username))


async def block(ctx: OpContext, args: social_wire.UserRef) -> social_wire.UserProfile:
    return await _change(ctx, args, "block", True)


async def unblock(ctx: OpContext, args: social_wire.UserRef) -> social_wire.UserProfile:
    return await _change(ctx, args, "block", False)


async def mute(ctx: OpContext, args: social_wire.UserRef) -> social_wire.UserProfile:
    return await _change(ctx, args, "mute", True)


async def unmute(ctx: OpContext, args: social_wire.UserRef) -> social_wire.UserProfile:
    return await _change(ctx, args, "mute", False)


async def _listed(ctx: OpContext, kind: ListKind, limit: int) -> wire.ListedUsers:
    found = await ctx.services.social.blocks.listed(ctx.conn, kind, ctx.identity.user_id, limit)
    return wire.ListedUsers(
        [wire.ListedUser(u.username, u.display_name, when(u.since)) for u in found]
    )


async def blocks(ctx: OpContext, args: wire.ListHidden) -> wire.ListedUsers:
    return await _listed(ctx, "block", args.limit)


async def mutes(ctx: OpContext, args: wire.ListHidden) -> wire.ListedUsers:
    return await _listed(ctx, "mute", args.limit)


HANDLERS: dict[str, Handler] = {
    "block.add": block,
    "block.remove": unblock,
    "block.list": blocks,
    "mute.add": mute,
    "mute.remove": unmute,
    "mute.list": mutes,
}
