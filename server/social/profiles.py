"""Handlers for profile.get and profile.set."""

from __future__ import annotations

from datetime import UTC, datetime

from protocol import profiles as wire
from protocol.errors import ErrorCode, RoostError
from server.context import OpContext
from server.router import Handler
from server.social.follows import approve_request
from storage.database import now_ms
from storage.server.profiles import ProfileRecord


async def get_profile(ctx: OpContext, args: wire.GetProfile) -> wire.Profile:
    if args.username is None:
        record = await ctx.services.profiles.by_user_id(ctx.conn, ctx.identity.user_id)
    else:
        record = await ctx.services.profiles.by_username(args.username.lower())
    if record is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user {args.username!r}")
    return wire_profile(record)


async def set_profile(ctx: OpContext, args: wire.SetProfile) -> wire.Profile:
    me = ctx.identity
    if args.locked is not None:
        await _set_locked(ctx, args.locked)
    record = await ctx.services.profiles.update(
        ctx.write_tx, me.user_id, display_name=args.display_name, bio=args.bio, now=now_ms()
    )
    profile = wire_profile(record)
    ctx.emit([me.user_id], "profile.updated", profile)  # the user's other devices
    return profile


async def _set_locked(ctx: OpContext, locked: bool) -> None:
    """Unlocking approves every request still waiting, as Mastodon does: the account is open,
    so asking to follow it is following it."""
    social = ctx.services.social
    visibility = social.visibility
    me = ctx.identity.user_id
    if not locked:  # a request racing the unlock waits for it, then finds the account open
        waiting = await visibility.requests_to(ctx.write_tx, me, limit=None)
        await social.follows.hold(ctx.write_tx, [me, *(r.requester_id for r in waiting)])
    if await visibility.set_locked(ctx.write_tx, me, locked) and not locked:
        for request in await visibility.requests_to(ctx.write_tx, me, limit=None):
            await approve_request(ctx, request.requester_id)


def wire_profile(record: ProfileRecord) -> wire.Profile:
    return wire.Profile(
        username=record.username,
        display_name=record.display_name,
        bio=record.bio,
        created_at=datetime.fromtimestamp(record.created_at / 1000, UTC),
        updated_at=datetime.fromtimestamp(record.updated_at / 1000, UTC),
        locked=record.locked,
    )


HANDLERS: dict[str, Handler] = {"profile.get": get_profile, "profile.set": set_profile}
