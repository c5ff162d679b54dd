"""A file on its way: `files.announce` binds a staged upload to a path, so the namespace's
members' devices fetch its blocks while the uploader is still sending them; the commit that
names the upload makes the version current (and only then does anyone see the file).

The uploader stages its block list in order as blocks are stored (`files.stage`); each page
staged under an announced upload is pushed to the members as `files.incoming`. A device that
fetches them writes a temporary file and renames it into place only once the journal shows
the committed version with exactly those blocks. When no commit will come (withdrawn, or
the uploader's connection closed), `files.incoming` says "withdrawn" and devices drop what
they fetched. Knowing a hash is still no access: a member may fetch an announced block only
once its uploader has stored it (see `FileRepository.readable_blocks`).
"""

from __future__ import annotations

import logging

from protocol import files as wire
from protocol.envelope import encode_event
from protocol.errors import ErrorCode, RoostError
from protocol.types import Empty
from server.context import OpContext, Services
from server.files.handlers import namespace_of
from server.router import Handler
from server.session import Session
from storage.database import now_ms
from storage.server import announced_uploads
from storage.server.announced_uploads import Announced

log = logging.getLogger("roost.server")
MAX_ANNOUNCED = 32  # open announcements per user: files streaming at once from all devices


async def announce(ctx: OpContext, args: wire.AnnounceUpload) -> Empty:
    ns = await namespace_of(ctx, args.namespace_id, write=True)
    path = wire.validate_path(args.path)
    if problem := wire.reserved_problem(path, wire.Kind.FILE):
        raise RoostError(ErrorCode.INVALID_ARGS, f"bad path {path[:80]!r}: {problem}")
    me = ctx.identity
    async with ctx.services.db.write() as tx:
        known = await announced_uploads.find(tx, me.user_id, args.upload_id)
        if known is None and await announced_uploads.open_count(tx, me.user_id) >= MAX_ANNOUNCED:
            raise RoostError(
                ErrorCode.QUOTA_EXCEEDED,
                f"{MAX_ANNOUNCED} files are on their way already; commit or withdraw one first",
            )
        await announced_uploads.announce(tx, me.user_id, args.upload_id, ns.id, path, now_ms())
    ctx.session.on_its_way(args.upload_id)
    await _tell_members(ctx, Announced(args.upload_id, ns.id, path), wire.IncomingState.STARTED)
    return Empty()


async def withdraw(ctx: OpContext, args: wire.WithdrawUpload) -> Empty:
    """Idempotent: withdrawing what is not (or no longer) announced does nothing."""
    async with ctx.services.db.write() as tx:
        gone = await announced_uploads.withdraw(tx, ctx.identity.user_id, [args.upload_id])
    ctx.session.arrived(args.upload_id)
    for found in gone:
        await _tell_members(ctx, found, wire.IncomingState.WITHDRAWN)
    return Empty()


async def staged(ctx: OpContext, args: wire.StageBlocks) -> None:
    """After `files.stage`: a page of an announced upload reaches the members' devices."""
    found = await announced_uploads.find(ctx.conn, ctx.identity.user_id, args.upload_id)
    if found is not None:
        await _tell_members(ctx, found, wire.IncomingState.BLOCKS, args.offset, args.hashes)


async def withdraw_on_close(services: Services, session: Session) -> None:
    """The uploader's connection closed with files still on their way: no commit will come
    from it (a reconnected client announces again), so the members drop what they fetched."""
    ids, identity = session.announced, session.identity
    if not ids or identity is None:
        return
    session.announced = None
    try:
        async with services.db.write() as tx:
            gone = await announced_uploads.withdraw(tx, identity.user_id, sorted(ids))
        for found in gone:
            members = await services.files.members(found.namespace_id, services.db.reader)
            event = _incoming(found, wire.IncomingState.WITHDRAWN)
            services.hub.publish([m[0] for m in members], encode_event("files.incoming", event))
    except Exception:  # the expiry forgets them within a day; nothing partial is ever shown
        log.exception("withdrawing the uploads of a closed connection failed")


async def _tell_members(
    ctx: OpContext,
    found: Announced,
    state: wire.IncomingState,
    offset: int = 0,
    hashes: list[str] | None = None,
) -> None:
    members = await ctx.services.files.members(found.namespace_id, ctx.conn)
    event = _incoming(found, state, offset, hashes or [])
    ctx.emit([m[0] for m in members], "files.incoming", event)


def _incoming(
    found: Announced, state: wire.IncomingState, offset: int = 0, hashes: list[str] | None = None
) -> wire.FilesIncoming:
    return wire.FilesIncoming(
        str(found.namespace_id), found.path, found.upload_id, state, offset, hashes or []
    )


HANDLERS: dict[str, Handler] = {
    "files.announce": announce,
    "files.withdraw": withdraw,
}
