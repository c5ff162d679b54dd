"""Home and user timelines: read the fanned-out ids (from memory when hot), merge in the posts
of followees that were not fanned out, hydrate, and page by id.

Whom the reader blocked or muted is left out when posts are hydrated (and muted or blocked
celebrities are not even merged in), so a block or mute applies at once to rows fanned out
before it and to every cached head, without rewriting any timeline.
"""

from __future__ import annotations

from protocol import social as wire
from protocol.errors import ErrorCode, RoostError
from server.context import OpContext
from server.router import Handler
from server.social.block_rules import hidden_on_profile
from server.social.fanout import merge_newest, next_cursor
from server.social.services import HEAD_SIZE, HomeHead, SocialServices, as_id

OVERFETCH = 10  # extra ids read per page so a few deleted posts do not shorten it
MAX_ROUNDS = 5  # pages refilled at most this often when deletions thin them out


async def home_page(
    social: SocialServices, user_id: int, before: int | None, limit: int, *, pull: bool = False
) -> wire.Page:
    """One page of a home timeline, newest first, only ids below `before`. With `pull`, the
    fan-out-on-read baseline answers instead (every followee's posts joined at read time)."""
    hidden = (await social.hiding(user_id)).anyone
    shown: list[wire.Post] = []
    cursor = before
    exhausted = False
    for _ in range(MAX_ROUNDS):
        want = limit - len(shown) + OVERFETCH
        if pull:
            ids = await social.timelines.pull_all_ids(social.db.reader, user_id, cursor, want)
        else:
            ids = await _hybrid_ids(social, user_id, cursor, want, hidden)
        exhausted = len(ids) < want
        posts = await social.views(social.db.reader, user_id, ids, hidden)
        shown += posts[: limit - len(shown)]
        if ids:
            cursor = ids[-1]
        if len(shown) >= limit or exhausted or not ids:
            break
    ids_shown = [int(p.id) for p in shown]
    after = next_cursor(ids_shown, limit, exhausted, cursor)
    return wire.Page(posts=shown, next_before=str(after) if after is not None else None)


async def _hybrid_ids(
    social: SocialServices, user_id: int, before: int | None, want: int, hidden: frozenset[int]
) -> list[int]:
    head = await _head(social, user_id)
    below = [i for i in head.ids if before is None or i < before]
    if len(below) >= want or head.complete:
        fanned = below[:want]
    else:
        fanned = await social.timelines.fanned_ids(social.db.reader, user_id, before, want)
    sources = [s for s in head.sources if s not in hidden]
    pulled = await social.timelines.unfanned_ids(social.db.reader, sources, before, want)
    return merge_newest([fanned, pulled], want)


async def _head(social: SocialServices, user_id: int) -> HomeHead:
    cached = await social.coherence.fresh()
    head = social.hot_homes.get(user_id) if cached else None
    if head is not None:
        return head
    epoch = social.epoch
    ids = await social.timelines.fanned_ids(social.db.reader, user_id, None, HEAD_SIZE)
    sources = await social.timelines.pull_sources(social.db.reader, user_id)
    head = HomeHead(ids, len(ids) < HEAD_SIZE, sources)
    if cached and epoch == social.epoch:
        social.hot_homes.put(user_id, head)
    return head


async def user_page(
    social: SocialServices, viewer_id: int, author_id: int, before: int | None, limit: int
) -> wire.Page:
    hidden = hidden_on_profile(await social.hiding(viewer_id), author_id)
    if hidden is None:  # the reader blocked this author: nothing of theirs is shown
        return wire.Page(posts=[], next_before=None)
    if not await social.visibility.may_see(social.db.reader, viewer_id, author_id):
        return wire.Page(posts=[], next_before=None)  # a locked account, not followed
    shown: list[wire.Post] = []
    cursor = before
    exhausted = False
    for _ in range(MAX_ROUNDS):
        want = limit - len(shown) + OVERFETCH
        ids = await social.posts.by_author(social.db.reader, author_id, cursor, want)
        exhausted = len(ids) < want
        shown += (await social.views(social.db.reader, viewer_id, ids, hidden))[
            : limit - len(shown)
        ]
        if ids:
            cursor = ids[-1]
        if len(shown) >= limit or exhausted:
            break
    after = next_cursor([int(p.id) for p in shown], limit, exhausted, cursor)
    return wire.Page(posts=shown, next_before=str(after) if after is not None else None)


# ---------------------------------------------------------------------------- handlers
async def home(ctx: OpContext, args: wire.HomeTimeline) -> wire.Page:
    pull = ctx.services.config.timeline_strategy == "pull"
    before = as_id(args.before)
    return await home_page(ctx.services.social, ctx.identity.user_id, before, args.limit, pull=pull)


async def user(ctx: OpContext, args: wire.UserTimeline) -> wire.Page:
    social = ctx.services.social
    author_id = await ctx.services.users.id_of(ctx.conn, args.username)
    if author_id is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user {args.username!r}")
    before = as_id(args.before)
    return await user_page(social, ctx.identity.user_id, author_id, before, args.limit)


HANDLERS: dict[str, Handler] = {"timeline.home": home, "timeline.user": user}
