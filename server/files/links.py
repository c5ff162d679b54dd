"""Handlers for link.*: make, list and remove public links. The download itself is plain HTTP
on the server's port (server/files/downloads.py); these rules decide what a link may reach.

A link names one version of one file, fixed when it is made, in a namespace where its maker is
an owner or editor; a viewer may not hand a share's files to the world.
"""

from __future__ import annotations

import secrets

from protocol import files as files_wire
from protocol import links as wire
from protocol.errors import ErrorCode, RoostError
from server.context import OpContext
from server.files.handlers import namespace_of
from server.router import Handler
from storage.database import now_ms
from storage.server.credentials import secret_hash
from storage.server.links import LinkRecord

# Links one user may hold at once: plenty for a person, few enough that nobody fills the table.
MAX_LINKS_PER_USER = 1000


def new_token() -> str:
    return secrets.token_urlsafe(wire.TOKEN_BYTES)  # 128 random bits, 22 URL-safe characters


def token_from(text: str) -> str | None:
    """The token in what a person pasted: the token itself, or a URL ending in /l/TOKEN."""
    text = text.strip()
    if wire.LINK_PATH_PREFIX in text:
        text = text.rsplit(wire.LINK_PATH_PREFIX, 1)[1].split("?", 1)[0].rstrip("/")
    return text if wire.is_token(text) else None


def wire_link(record: LinkRecord, now: int) -> wire.Link:
    return wire.Link(
        id=str(record.id),
        namespace_id=str(record.namespace_id),
        version_id=str(record.version_id),
        path=record.path,
        size=record.size,
        created_at_ms=record.created_at,
        expires_at_ms=record.expires_at,
        has_password=record.has_password,
        expired=record.expires_at is not None and record.expires_at <= now,
    )


def public_url(base: str | None, token: str) -> str | None:
    return None if base is None else f"{base.rstrip('/')}{wire.LINK_PATH_PREFIX}{token}"


async def create(ctx: OpContext, args: wire.CreateLink) -> wire.CreatedLink:
    ns = await namespace_of(ctx, args.namespace_id)
    if ns.role not in ("owner", "editor"):
        raise RoostError(
            ErrorCode.FORBIDDEN, f"you are a viewer of {ns.name!r}; only its owner and editors"
            " can make links to its files"
        )  # fmt: skip
    path = files_wire.validate_path(args.path)
    files, links, me = ctx.services.files, ctx.services.links, ctx.identity
    current = await files.current(ctx.conn, ns.id, path)
    version = None if current is None else await files.version(ctx.conn, ns.id, current[0])
    if version is None or version.deleted:
        raise RoostError(ErrorCode.NOT_FOUND, f"no file {path!r}")
    if version.kind == files_wire.Kind.DIR:
        raise RoostError(ErrorCode.INVALID_ARGS, f"{path!r} is a folder; a link is to one file")
    if len(await links.made_by(ctx.conn, me.user_id, MAX_LINKS_PER_USER)) >= MAX_LINKS_PER_USER:
        raise RoostError(
            ErrorCode.TOO_LARGE, f"you have {MAX_LINKS_PER_USER} links (expired ones count until"
            " removed); remove some first (roost link ls, roost link rm)"
        )  # fmt: skip
    password_hash = None
    if args.password is not None:
        password_hash = await ctx.services.passwords.hash(
            args.password, requester=ctx.session.address
        )
    token, now = new_token(), now_ms()
    expires = None if args.expires_in_s is None else now + args.expires_in_s * 1000
    record = LinkRecord(
        ctx.services.ids.next(), ns.id, version.id, path, me.user_id, now, expires,
        password_hash is not None, version.size,
    )  # fmt: skip
    async with ctx.services.db.write() as tx:
        await links.add(
            tx, link_id=record.id, token_hash=secret_hash(token), namespace_id=ns.id,
            version_id=version.id, path=path, created_by=me.user_id, created_at=now,
            expires_at=expires, password_hash=password_hash,
        )  # fmt: skip
    url_path = wire.LINK_PATH_PREFIX + token
    return wire.CreatedLink(
        wire_link(record, now), token, url_path, public_url(ctx.services.config.public_url, token)
    )


async def list_links(ctx: OpContext, args: wire.ListLinks) -> wire.Links:
    limit = min(args.limit, wire.MAX_LINKS_LISTED)
    found = await ctx.services.links.made_by(ctx.conn, ctx.identity.user_id, limit)
    now = now_ms()
    return wire.Links([wire_link(r, now) for r in found])


async def remove(ctx: OpContext, args: wire.RemoveLink) -> wire.RemovedLink:
    """The maker, or the owner of the namespace the file is in, may take a link down; to
    anyone else a link looks exactly like a missing one."""
    links, me = ctx.services.links, ctx.identity
    token = token_from(args.link)
    record = None
    if token is not None:
        record = await links.by_token(ctx.conn, secret_hash(token))
    elif args.link.strip().isdigit() and len(args.link.strip()) <= 19:
        record = await links.by_id(ctx.conn, int(args.link.strip()))
    else:
        raise RoostError(
            ErrorCode.INVALID_ARGS, "name a link by its URL, its token or its id (roost link ls)"
        )
    if record is not None and record.created_by != me.user_id:
        ns = await ctx.services.files.namespace_for(me.user_id, record.namespace_id, ctx.conn)
        if ns is None or ns.role != "owner":
            record = None
    if record is None:
        raise RoostError(ErrorCode.NOT_FOUND, "no such link of yours (roost link ls lists them)")
    async with ctx.services.db.write() as tx:
        await links.remove(tx, record.id)
    return wire.RemovedLink(str(record.id))


HANDLERS: dict[str, Handler] = {
    "link.create": create,
    "link.list": list_links,
    "link.remove": remove,
}
