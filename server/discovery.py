"""Handlers for search (posts and users, SQLite FTS5) and trending hashtags."""

from __future__ import annotations

from protocol import social as wire
from protocol.post_text import fts_query
from server.context import OpContext
from server.follows import card
from server.router import Handler
from storage.database import now_ms
from storage.server.social_posts import trending_tags

HOUR_MS = 3_600_000


async def search(ctx: OpContext, args: wire.Search) -> wire.SearchResult:
    social = ctx.services.social
    words = fts_query(args.query)
    if words is None:
        return wire.SearchResult(posts=[], users=[])
    me = ctx.identity.user_id
    ids = await social.posts.search(ctx.conn, me, words, args.limit)
    posts = await social.views(ctx.conn, me, ids, (await social.hiding(me)).anyone)
    users = await social.follows.search(
        ctx.conn, fts_query(args.query, prefix_last=True) or words, 10
    )
    return wire.SearchResult(posts=posts, users=[card(u) for u in users])


async def trending(ctx: OpContext, args: wire.Trending) -> wire.TrendingTags:
    since = now_ms() - args.hours * HOUR_MS
    tags = await trending_tags(ctx.services.db.reader, ctx.identity.user_id, since, args.limit)
    return wire.TrendingTags(
        hours=args.hours,
        tags=[wire.Tag(tag=t.tag, authors=t.authors, posts=t.posts) for t in tags],
    )


HANDLERS: dict[str, Handler] = {"search.query": search, "trending.tags": trending}
