"""Handlers for follows, profiles with counts, followers/following lists and who-to-follow."""

from __future__ import annotations

from protocol import social as wire
from protocol.errors import ErrorCode, RoostError
from server.context import OpContext
from server.router import Handler
from server.social import block_rules
from server.social.fanout import BACKFILL_ON_FOLLOW
from server.social.notifications import notify
from server.social.services import when
from storage.database import now_ms
from storage.server.social_graph import UserSummary


async def follow(ctx: OpContext, args: wire.UserRef) -> wire.UserProfile:
    """Follow a user; a locked one gets a request instead, which they approve or decline."""
    social = ctx.services.social
    tx = ctx.write_tx
    me = ctx.identity.user_id
    target = await _user(ctx, args.username)
    if target == me:
        raise RoostError(ErrorCode.INVALID_ARGS, "you cannot follow yourself")
    await social.follows.hold(tx, [me, target])  # what is read next stays true until commit
    block_rules.check_follow(await social.blocks.between(tx, me, target), args.username.lower())
    if await social.visibility.is_locked(tx, target):
        following = await social.follows.is_following(tx, me, target)
        if not following and await social.visibility.request(tx, me, target, now_ms()):
            await notify(ctx, target, "follow_request")
    elif await _start_following(ctx, me, target):
        await notify(ctx, target, "follow")
    return await _profile(ctx, target)


async def unfollow(ctx: OpContext, args: wire.UserRef) -> wire.UserProfile:
    """Unfollow, or take back a request still waiting (its notification goes with it)."""
    social = ctx.services.social
    tx = ctx.write_tx
    me = ctx.identity.user_id
    target = await _user(ctx, args.username)
    await social.follows.hold(tx, [me, target])
    if await social.follows.unfollow(tx, me, target):
        await social.timelines.remove_author(tx, me, target)
        ctx.after_commit(lambda: social.forget_homes([me]))
    if await social.visibility.withdraw(tx, me, target):
        await social.notifications.remove(tx, target, "follow_request", me, None)
    return await _profile(ctx, target)


async def requests(ctx: OpContext, args: wire.ListFollowRequests) -> wire.FollowRequests:
    waiting = await ctx.services.social.visibility.requests_to(
        ctx.conn, ctx.identity.user_id, args.limit
    )
    return wire.FollowRequests(
        requests=[
            wire.FollowRequest(
                username=r.requester, display_name=r.display_name, requested_at=when(r.created_at)
            )
            for r in waiting
        ]
    )


async def approve(ctx: OpContext, args: wire.UserRef) -> wire.UserProfile:
    """Only a request to the caller can be answered: whose it is comes from the login."""
    requester = await _waiting_request(ctx, args.username)
    await approve_request(ctx, requester)
    return await _profile(ctx, requester)


async def decline(ctx: OpContext, args: wire.UserRef) -> wire.UserProfile:
    """The requester is not told (as on Mastodon): their profile of you shows no request."""
    requester = await _waiting_request(ctx, args.username)
    me = ctx.identity.user_id
    social = ctx.services.social
    await social.visibility.withdraw(ctx.write_tx, requester, me)
    await social.notifications.remove(ctx.write_tx, me, "follow_request", requester, None)
    return await _profile(ctx, requester)


async def approve_request(ctx: OpContext, requester: int) -> None:
    """The caller approves `requester`'s waiting request: they follow from now on, the
    request's notification becomes a follow's, and the requester is told."""
    social = ctx.services.social
    tx, me = ctx.write_tx, ctx.identity.user_id
    await social.visibility.withdraw(tx, requester, me)
    await social.notifications.remove(tx, me, "follow_request", requester, None)
    await _start_following(ctx, requester, me)
    await notify(ctx, me, "follow", actor=requester)
    await notify(ctx, requester, "follow_accepted")


async def _start_following(ctx: OpContext, follower: int, followee: int) -> bool:
    """False when the follow already existed."""
    social = ctx.services.social
    if not await social.follows.follow(ctx.write_tx, follower, followee, now_ms()):
        return False
    await social.timelines.backfill(ctx.write_tx, follower, followee, BACKFILL_ON_FOLLOW)
    ctx.after_commit(lambda: social.forget_homes([follower]))
    return True


async def _waiting_request(ctx: OpContext, username: str) -> int:
    """A request waiting for the caller's answer, held so that it cannot be taken back
    while the answer is written."""
    requester = await _user(ctx, username)
    await ctx.services.social.follows.hold(ctx.write_tx, [requester, ctx.identity.user_id])
    if not await ctx.services.social.visibility.is_requested(
        ctx.write_tx, requester, ctx.identity.user_id
    ):
        raise RoostError(ErrorCode.NOT_FOUND, f"no follow request from @{username.lower()}")
    return requester


async def profile(ctx: OpContext, args: wire.GetUser) -> wire.UserProfile:
    target = ctx.identity.user_id if args.username is None else await _user(ctx, args.username)
    return await _profile(ctx, target)


async def followers(ctx: OpContext, args: wire.ListUsers) -> wire.UserList:
    social = ctx.services.social
    target, name = await _target(ctx, args.username)
    users = await social.follows.followers(ctx.conn, target, args.limit)
    return wire.UserList(username=name, users=[wire_card(u) for u in users])


async def following(ctx: OpContext, args: wire.ListUsers) -> wire.UserList:
    social = ctx.services.social
    target, name = await _target(ctx, args.username)
    users = await social.follows.following(ctx.conn, target, args.limit)
    return wire.UserList(username=name, users=[wire_card(u) for u in users])


async def suggest(ctx: OpContext, args: wire.Suggest) -> wire.Suggestions:
    found = await ctx.services.social.follows.suggestions(
        ctx.conn, ctx.identity.user_id, args.limit
    )
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


def wire_card(user: UserSummary) -> wire.UserCard:
    return wire.UserCard(
        username=user.username,
        display_name=user.display_name,
        followers=user.followers,
        following=user.following,
    )


async def _user(ctx: OpContext, username: str) -> int:
    user_id = await ctx.services.users.id_of(ctx.conn, username)
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
    stats = await social.follows.stats(ctx.conn, user_id)
    assert stats is not None
    mine = await social.blocks.between(ctx.conn, me, user_id)  # only the caller's own lists
    visibility = social.visibility
    return wire.UserProfile(
        username=stats.username,
        display_name=stats.display_name,
        bio=stats.bio,
        created_at=when(stats.created_at),
        followers=stats.followers,
        following=stats.following,
        posts=stats.posts,
        you_follow=user_id != me and await social.follows.is_following(ctx.conn, me, user_id),
        follows_you=user_id != me and await social.follows.is_following(ctx.conn, user_id, me),
        blocked=mine.i_block,
        muted=mine.i_mute,
        locked=await visibility.is_locked(ctx.conn, user_id),
        requested=user_id != me and await visibility.is_requested(ctx.conn, me, user_id),
    )


HANDLERS: dict[str, Handler] = {
    "follow.add": follow,
    "follow.remove": unfollow,
    "follow.requests": requests,
    "follow.approve": approve,
    "follow.decline": decline,
    "follow.followers": followers,
    "follow.following": following,
    "user.profile": profile,
    "suggest.follows": suggest,
}
