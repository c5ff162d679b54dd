"""Handlers for posts: create (and reply), repost, like, unlike, delete, and the thread view.

Each write runs in the op's transaction; followers' timelines are written in it (unless the
author is over the celebrity threshold), notifications too, and the live events and cache
invalidations happen only after commit.
"""

from __future__ import annotations

from protocol import social as wire
from protocol.errors import ErrorCode, RoostError
from protocol.post_text import is_blank, parse_entities
from server.context import OpContext
from server.quota import check_text_length
from server.router import Handler
from server.social.fanout import fans_out
from server.social.notifications import notify
from server.social.services import SocialServices, as_id
from storage.database import now_ms
from storage.server.social_posts import NewPost, PostRecord


async def create_post(ctx: OpContext, args: wire.CreatePost) -> wire.Post:
    if is_blank(args.text):
        raise RoostError(ErrorCode.INVALID_ARGS, "a post needs some text")
    check_text_length(args.text, ctx.services.config.limits.max_post_chars)
    social = ctx.services.social
    tx = ctx.write_tx
    # The author's counter row is held before the followers are read: a follow racing this
    # post (which moves the same counter) waits for it and backfills it, or commits first and
    # is among the followers this post reads, has its home cache dropped and is told live.
    await social.follows.hold(tx, [ctx.identity.user_id])
    parent: PostRecord | None = None
    if args.reply_to is not None:
        parent = await _seen_post(ctx, args.reply_to)
        if parent.repost_of is not None:  # replying to a repost answers the original
            parent = await _seen_post(ctx, str(parent.repost_of))
    attachments = await _own_attachments(ctx, args.attachments)
    entities = parse_entities(args.text)
    mentioned = await ctx.services.users.ids_of(tx, entities.mentions)
    post = await _publish(
        ctx,
        args.text,
        reply_to=parent,
        mentions=mentioned,
        tags=entities.tags,
        attachments=attachments,
    )
    # Only people who may see the post hear of it: a locked author's reply or mention
    # reaches their approved followers, nobody else.
    me = ctx.identity.user_id
    told = [parent.author_id] if parent is not None else []
    told += [u for u in mentioned.values() if u not in told]
    for user_id in told:
        if not await social.visibility.may_see(tx, user_id, me):
            continue
        kind = "reply" if parent is not None and user_id == parent.author_id else "mention"
        await notify(ctx, user_id, kind, int(post.id))
    return post


async def repost(ctx: OpContext, args: wire.PostRef) -> wire.Post:
    social = ctx.services.social
    target = await _seen_post(ctx, args.post_id)
    if target.repost_of is not None:  # reposting a repost reposts the original
        target = await _seen_post(ctx, str(target.repost_of))
    # Two reposts at once make one, and none lands on a post being deleted. The reposter's
    # counter row first (see create_post), then the post's row: the one lock order.
    await social.follows.hold(ctx.write_tx, [ctx.identity.user_id])
    if not await social.posts.hold(ctx.write_tx, target.id):
        raise RoostError(ErrorCode.NOT_FOUND, f"no post {args.post_id}")
    if target.author_id != ctx.identity.user_id and await social.visibility.is_locked(
        ctx.write_tx, target.author_id
    ):  # a repost would carry it past their followers
        raise RoostError(
            ErrorCode.FORBIDDEN,
            f"@{target.author}'s posts are for their followers only; they cannot be reposted",
        )
    existing = await social.posts.live_repost(ctx.write_tx, ctx.identity.user_id, target.id)
    if existing is not None:
        view = await social.view(ctx.write_tx, ctx.identity.user_id, existing)
        assert view is not None
        return view
    post = await _publish(ctx, "", repost_of=target)
    await notify(ctx, target.author_id, "repost", target.id)
    return post


async def _publish(
    ctx: OpContext,
    text: str,
    *,
    reply_to: PostRecord | None = None,
    repost_of: PostRecord | None = None,
    mentions: dict[str, int] | None = None,
    tags: list[str] | None = None,
    attachments: list[int] | None = None,
) -> wire.Post:
    social = ctx.services.social
    tx = ctx.write_tx
    me = ctx.identity.user_id
    followers = await social.follows.follower_ids(tx, me)
    fan = fans_out(len(followers), social.celebrity_threshold)
    post_id = ctx.services.ids.next()
    await social.posts.insert(
        tx,
        NewPost(
            id=post_id,
            author_id=me,
            text=text,
            reply_to=reply_to.id if reply_to else None,
            repost_of=repost_of.id if repost_of else None,
            created_at=now_ms(),
            fanned_out=fan,
            mention_ids=list((mentions or {}).values()),
            mentions=list(mentions or {}),
            tags=tags or [],
            attachment_ids=attachments or [],
        ),
    )
    await social.timelines.fan_out(tx, post_id, me, to_followers=fan)
    post = await social.view(tx, me, post_id)
    assert post is not None
    changed = [p.id for p in (reply_to, repost_of) if p is not None]
    _after_commit(ctx, social, changed, [me, *followers] if fan else None)
    online = [f for f in followers if ctx.services.hub.is_online(f)]
    if online:  # followers who muted the author (or the reposted one) are not told live
        authors = [me] if repost_of is None else [me, repost_of.author_id]
        hiders = await social.blocks.hiders(tx, authors)
        online = [f for f in online if f not in hiders]
    ctx.emit([me, *online], "post.created", post)
    return post


async def delete_post(ctx: OpContext, args: wire.PostRef) -> wire.Deleted:
    social = ctx.services.social
    tx = ctx.write_tx
    post = await _seen_post(ctx, args.post_id)
    if post.author_id != ctx.identity.user_id:
        raise RoostError(ErrorCode.FORBIDDEN, "you can only delete your own posts")
    # A post is deleted once, however many deletes race, and no repost slips in meanwhile.
    # Rows are held in the one order (docs/ARCHITECTURE.md): the counters of everyone whose
    # post goes, then a repost's original, then the post (whose reposts follow it).
    reposts = await social.posts.live_reposts_of(tx, post.id)
    await social.follows.hold(tx, [post.author_id, *await _authors(ctx, reposts)])
    if post.repost_of is not None:
        await social.posts.hold(tx, post.repost_of)
    if not await social.posts.hold(tx, post.id):
        raise RoostError(ErrorCode.NOT_FOUND, f"no post {args.post_id}")
    now = now_ms()
    gone = [post]
    for repost_id in await social.posts.live_reposts_of(tx, post.id):  # again, now held
        record = await social.posts.get(tx, repost_id)
        assert record is not None
        gone.append(record)
    # A repost that arrived before the hold has a counter not held yet (rarely: out of order).
    await social.follows.hold(tx, [r.author_id for r in gone])
    for record in gone:
        await social.posts.mark_deleted(tx, record, now)
    await social.timelines.remove_posts(tx, [r.id for r in gone])
    touched = [r.id for r in gone] + [
        p for r in gone for p in (r.reply_to, r.repost_of) if p is not None
    ]
    _after_commit(ctx, social, touched, None)
    followers = await social.follows.follower_ids(tx, post.author_id)
    online = [f for f in followers if ctx.services.hub.is_online(f)]
    deleted = wire.Deleted(post_id=str(post.id))
    ctx.emit([post.author_id, *online], "post.deleted", deleted)
    return deleted


async def like(ctx: OpContext, args: wire.PostRef) -> wire.Post:
    social = ctx.services.social
    post = await _likeable(ctx, args.post_id)
    if await social.posts.add_like(ctx.write_tx, ctx.identity.user_id, post.id, now_ms()):
        await notify(ctx, post.author_id, "like", post.id)
    _after_commit(ctx, social, [post.id], [])
    return await _view(ctx, post.id)


async def unlike(ctx: OpContext, args: wire.PostRef) -> wire.Post:
    social = ctx.services.social
    post = await _likeable(ctx, args.post_id)
    me = ctx.identity.user_id
    if await social.posts.remove_like(ctx.write_tx, me, post.id):
        await social.notifications.remove(ctx.write_tx, post.author_id, "like", me, post.id)
    _after_commit(ctx, social, [post.id], [])
    return await _view(ctx, post.id)


async def thread(ctx: OpContext, args: wire.GetThread) -> wire.Thread:
    social = ctx.services.social
    post = await social.posts.get(ctx.conn, _id(args.post_id))
    if post is None or post.deleted:
        raise RoostError(ErrorCode.NOT_FOUND, f"no post {args.post_id}")
    me = ctx.identity.user_id
    hiding = await social.hiding(me)
    if post.author_id in hiding.blocked:
        raise RoostError(
            ErrorCode.NOT_FOUND, f"post {args.post_id} is by @{post.author}, whom you blocked"
        )
    # a muted author's own post, opened on purpose, is shown with their replies in it
    hidden = hiding.anyone - {post.author_id}
    found = await social.views(ctx.conn, me, [post.id], hidden)
    if not found:  # a repost whose original is gone (or by someone the reader blocked)
        raise RoostError(ErrorCode.NOT_FOUND, f"no post {args.post_id}")
    view = found[0]
    ancestors = await social.views(
        ctx.conn, me, await social.posts.ancestors(ctx.conn, post), hidden
    )
    replies = await social.views(
        ctx.conn, me, await social.posts.replies(ctx.conn, post.id), hidden
    )
    return wire.Thread(post=view, ancestors=ancestors, replies=replies)


# ---------------------------------------------------------------------------- helpers
def _id(value: str) -> int:
    number = as_id(value)
    assert number is not None
    return number


async def _seen_post(ctx: OpContext, post_id: str) -> PostRecord:
    """A live post the caller may see; else `not_found`, whether it is missing, deleted or
    a locked author's post for their followers only (the three look the same)."""
    social = ctx.services.social
    post = await social.posts.get(ctx.write_tx, _id(post_id))
    if post is None or post.deleted:
        raise RoostError(ErrorCode.NOT_FOUND, f"no post {post_id}")
    if not await social.visibility.may_see(ctx.write_tx, ctx.identity.user_id, post.author_id):
        raise RoostError(ErrorCode.NOT_FOUND, f"no post {post_id}")
    return post


async def _own_attachments(ctx: OpContext, ids: list[str]) -> list[int]:
    """The caller's attachments by id, in order and without repeats. Someone else's is
    refused as forbidden when the caller may read it, else as not found like a missing one,
    so an id reveals nothing the caller could not already see."""
    files = ctx.services.files
    me = ctx.identity.user_id
    wanted = list(dict.fromkeys(_id(a) for a in ids))
    for attachment_id in wanted:
        record = await files.attachment(attachment_id, ctx.write_tx, reader_id=me)
        if record is None:
            raise RoostError(ErrorCode.NOT_FOUND, f"no attachment {attachment_id}")
        if record.owner_id != me:
            raise RoostError(
                ErrorCode.FORBIDDEN, f"attachment {attachment_id} is @{record.owner}'s, not yours"
            )
    return wanted


async def _authors(ctx: OpContext, post_ids: list[int]) -> list[int]:
    found = await ctx.services.social.posts.get_many(ctx.write_tx, post_ids)
    return [record.author_id for record in found.values()]


async def _likeable(ctx: OpContext, post_id: str) -> PostRecord:
    post = await _seen_post(ctx, post_id)
    if post.repost_of is not None:  # a like of a repost is a like of the original
        post = await _seen_post(ctx, str(post.repost_of))
    return post


async def _view(ctx: OpContext, post_id: int) -> wire.Post:
    view = await ctx.services.social.view(ctx.write_tx, ctx.identity.user_id, post_id)
    assert view is not None
    return view


def _after_commit(
    ctx: OpContext, social: SocialServices, posts: list[int], homes: list[int] | None
) -> None:
    """Drop what the op changed from memory once it commits; `homes=None`: every home."""

    def forget() -> None:
        social.forget_posts(posts)
        if homes is None:
            social.forget_all_homes()
        elif homes:
            social.forget_homes(homes)

    ctx.after_commit(forget)


HANDLERS: dict[str, Handler] = {
    "post.create": create_post,
    "post.repost": repost,
    "post.delete": delete_post,
    "post.like": like,
    "post.unlike": unlike,
    "post.thread": thread,
}
