"""Handlers for `roost export`: the caller's own posts, and every version of a namespace the
caller belongs to, each a page at a time, oldest first. Who asks is the only input: neither op
names a user, and a namespace the caller is not in answers `not_found` as a missing one does.
"""

from __future__ import annotations

from protocol import export as wire
from server.context import OpContext
from server.files.handlers import namespace_of, wire_entry
from server.router import Handler
from server.social.services import as_id


async def posts(ctx: OpContext, args: wire.ExportPosts) -> wire.PostsPage:
    social, me = ctx.services.social, ctx.identity.user_id
    ids = await social.posts.by_author_oldest_first(ctx.conn, me, as_id(args.after), args.limit)
    shown = await social.views(ctx.conn, me, ids)  # a repost of a post deleted since is left out
    more = len(ids) == args.limit
    return wire.PostsPage(posts=shown, next_after=str(ids[-1]) if more else None)


async def versions(ctx: OpContext, args: wire.ExportVersions) -> wire.VersionsPage:
    ns = await namespace_of(ctx, args.namespace_id)
    found = await ctx.services.files.all_versions(ns.id, as_id(args.after), args.limit)
    more = len(found) == args.limit
    return wire.VersionsPage(
        versions=[wire_entry(v) for v in found], next_after=str(found[-1].id) if more else None
    )


HANDLERS: dict[str, Handler] = {"export.posts": posts, "export.versions": versions}
