"""Handlers for follows, profiles with counts, followers/following lists and who-to-follow."""

from __future__ import annotations

from protocol import social as wire
from protocol.errors import ErrorCode, RoostError
from server import block_rules
from server.context import OpContext
from server.fanout import BACKFILL_ON_FOLLOW
from server.notifications import notify
from server.router import Handler
from server.social_services import when
from storage.database import now_ms
from storage.social_graph import UserSummary


async def follow(ctx: OpContext, args: wire.UserRef) -> wire.UserProfile:
    social = ctx.services.social
    tx = ctx.write_tx
    me = ctx.identity.user_id
    target = await _user(ctx, args.username)
    if target == me:
        raise RoostError(ErrorCode.INVALID_ARGS, "you cannot follow yourself")
    block_rules.check_follow(await social.blocks.between(tx, me, target), args.username.lower())
    if await social.follows.follow(tx, me, target, now_ms()):
        await social.timelines.backfill(tx, me, target, BACKFILL_ON_FOLLOW)
        await notify(ctx, target, "follow")
        ctx.after_commit(lambda: social.forget_homes([me]))
    return await _profile(ctx, target)


async def unfollow(ctx: OpContext, args: wire.UserRef) -> wire.UserProfile:
    social = ctx.services.social
    tx = ctx.write_tx
    me = ctx.identity.user_id
    target = await _user(ctx, args.username)
    if await social.follows.unfollow(tx, me, target):
        await social.timelines.remove_author(tx, me, target)
        ctx.after_commit(lambda: social.forget_homes([me]))
    return await _profile(ctx, target)


async def profile(ctx: OpContext, args: wire.GetUser) -> wire.UserProfile:
    target = ctx.identity.user_id if args.username is None else await _user(ctx, args.username)
    return await _profile(ctx, target)


async def followers(ctx: OpContext, args: wire.ListUsers) -> wire.UserList:
    social = ctx.services.social
    target, name = await _target(ctx, args.username)
    users = await social.follows.followers(None, target, args.limit)
    return wire.UserList(username=name, users=[card(u) for u in users])


async def following(ctx: OpContext, args: wire.ListUsers) -> wire.UserList:
    social = ctx.services.social
    target, name = await _target(ctx, args.username)
    users = await social.follows.following(None, target, args.limit)
    return wire.UserList(username=name, users=[card(u) for u in users])


async def suggest(ctx: OpContext, args: wire.Suggest) -> wire.Suggestions:
    found = await ctx.services.social.follows.suggestions(None, ctx.identity.user_id, args.limit)
    return wire.Suggestions(
        users=[
            wire.Suggestion(
                username=s.user.username,
                display_name=s.user.display_name,
                mutuals=s.mutuals,
                followers=s.user.followers,
                followed_by=s.followed_by,
            )
            for s in found
        ]
    )


def card(user: UserSummary) -> wire.UserCard:
    return wire.UserCard(
        username=user.username,
        display_name=user.display_name,
        followers=user.followers,
        following=user.following,
    )


async def _user(ctx: OpContext, username: str) -> int:
    user_id = await ctx.services.social.follows.user_id(ctx.tx, username)
    if user_id is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    return user_id


async def _target(ctx: OpContext, username: str | None) -> tuple[int, str]:
    if username is None:
        return ctx.identity.user_id, ctx.identity.username
    return await _user(ctx, username), username.lower()


async def _profile(ctx: OpContext, user_id: int) -> wire.UserProfile:
    social = ctx.services.social
    me = ctx.identity.user_id
    stats = await social.follows.stats(ctx.tx, user_id)
    assert stats is not None
    mine = await social.blocks.between(ctx.tx, me, user_id)  # only the caller's own lists
    return wire.UserProfile(
        username=stats.username,
        display_name=stats.display_name,
        bio=stats.bio,
        created_at=when(stats.created_at),
        followers=stats.followers,
        following=stats.following,
        posts=stats.posts,
        you_follow=user_id != me and await social.follows.is_following(ctx.tx, me, user_id),
        follows_you=user_id != me and await social.follows.is_following(ctx.tx, user_id, me),
        blocked=mine.i_block,
        muted=mine.i_mute,
    )


HANDLERS: dict[str, Handler] = {
    "follow.add": follow,
    "follow.remove": unfollow,
    "follow.followers": followers,
    "follow.following": following,
    "user.profile": profile,
    "suggest.follows": suggest,
}
