"""files.usage: what the caller's storage holds, for `roost usage`: current files, old
versions and attachments, each as people count it and as the server keeps it."""

from __future__ import annotations

from protocol import files as wire
from protocol.types import Empty
from server.context import OpContext
from server.router import Handler
from storage.server.space import storage_use
from storage.server.space_breakdown import space_breakdown


async def usage(ctx: OpContext, args: Empty) -> wire.SpaceUse:
    reader, me = ctx.services.db.reader, ctx.identity.user_id
    found = await space_breakdown(reader, me)
    counted = await storage_use(reader, me)
    return wire.SpaceUse(
        found.current_files, found.current_bytes, found.current_stored, found.old_versions,
        found.old_bytes, found.old_stored, found.attachments, found.attachment_bytes,
        counted.bytes,
    )  # fmt: skip


HANDLERS: dict[str, Handler] = {"files.usage": usage}
