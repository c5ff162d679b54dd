"""Handlers for search (what the caller may see, by kind) and trending hashtags."""

from __future__ import annotations

from protocol import social as wire
from server.context import OpContext
from server.router import Handler
from server.social.follows import wire_card
from server.social.services import when
from storage.database import now_ms
from storage.server.search import FileHit, MessageHit, search_repository
from storage.server.search_query import search_terms
from storage.server.social_posts import TagCount, trending_tags

HOUR_MS = 3_600_000


async def search(ctx: OpContext, args: wire.Search) -> wire.SearchResult:
    social = ctx.services.social
    me, limit = ctx.identity.user_id, args.limit
    terms = search_terms(args.query)
    # The engine's own search: it turns the words into its query (FTS5 on SQLite).
    found = search_repository(ctx.services.db)
    ids = await found.posts(me, terms.words, limit)
    # views() applies the rules every post read follows (reposts, locks, hidden authors).
    posts = await social.views(ctx.conn, me, ids, (await social.hiding(me)).anyone)
    return wire.SearchResult(
        posts=posts,
        users=[wire_card(u) for u in await found.people(terms.words, limit)],
        tags=[wire_tag(t) for t in await found.tags(me, terms.tag, limit)],
        messages=[wire_message_hit(m) for m in await found.messages(me, terms.words, limit)],
        files=[wire_file_hit(f) for f in await found.files(me, terms.words, limit)],
    )


def wire_tag(t: TagCount) -> wire.Tag:
    return wire.Tag(tag=t.tag, authors=t.authors, posts=t.posts)


def wire_message_hit(m: MessageHit) -> wire.MessageHit:
    return wire.MessageHit(
        conversation=str(m.conversation_id),
        conversation_kind=m.conversation_kind,
        conversation_name=m.conversation_name,
        seq=m.seq,
        sender=m.sender,
        text=m.text,
        sent_at=when(m.sent_at),
    )


def wire_file_hit(f: FileHit) -> wire.FileHit:
    return wire.FileHit(
        namespace_id=str(f.namespace_id),
        namespace_kind=f.namespace_kind,
        namespace=f.namespace_name,
        path=f.path,
        kind=f.kind,
        version=str(f.version_id),
        size=f.size,
        mtime_ms=f.mtime_ms,
    )


async def trending(ctx: OpContext, args: wire.Trending) -> wire.TrendingTags:
    since = now_ms() - args.hours * HOUR_MS
    tags = await trending_tags(ctx.services.db.reader, ctx.identity.user_id, since, args.limit)
    return wire.TrendingTags(hours=args.hours, tags=[wire_tag(t) for t in tags])


HANDLERS: dict[str, Handler] = {"search.query": search, "trending.tags": trending}
