"""Handlers for files.share, files.unshare and files.shares: a top-level folder of the owner's
home becomes its own namespace, which each member's workspace mounts under the folder's name.
"""

from __future__ import annotations

from protocol import files as wire
from protocol.errors import ErrorCode, RoostError
from protocol.types import Empty
from server.context import OpContext
from server.files import add_version, announce
from server.router import Handler
from storage.database import now_ms
from storage.files import NewVersion


def mount_name(name: str, owner: str, taken: set[str]) -> str:
    """Where a new member's workspace shows a share: under its own name, unless the member
    already has a top-level file, folder or share of that name (case-folded names in `taken`);
    then "NAME (from OWNER)", "NAME (from OWNER 2)", ... so nothing of theirs is merged into
    the share, nor the share into their things."""
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        suffix = f" (from {owner})" if n == 2 else f" (from {owner} {n - 1})"
        base = name
        while len((base + suffix).encode()) > wire.MAX_NAME_BYTES:
            base = base[:-1]
        candidate = base + suffix
    return candidate


def folder_name(folder: str) -> str:
    name = wire.validate_path(folder.strip("/"))
    if "/" in name:
        raise RoostError(ErrorCode.INVALID_ARGS, "only a top-level folder can be shared")
    return name


async def _target(ctx: OpContext, username: str) -> int:
    user = await ctx.services.accounts.user_by_name(username.lower())
    if user is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    if user.id == ctx.identity.user_id:
        raise RoostError(ErrorCode.INVALID_ARGS, "you already own this folder")
    return user.id


async def _not_someone_elses(ctx: OpContext, name: str) -> None:
    """A member mounts another's share under its folder name: sharing or unsharing that name
    would act on the owner's folder, which only the owner may do."""
    for ns in await ctx.services.files.namespaces_of(ctx.identity.user_id, ctx.tx):
        if ns.kind == "shared" and ns.role != wire.Role.OWNER:
            if wire.path_key(ns.name) == wire.path_key(name):
                raise RoostError(
                    ErrorCode.FORBIDDEN, f"{ns.name!r} is @{ns.owner}'s; only they can share it"
                )


async def share(ctx: OpContext, args: wire.Share) -> wire.ShareInfo:
    name = folder_name(args.folder)
    await _not_someone_elses(ctx, name)
    if args.role == wire.Role.OWNER:
        raise RoostError(ErrorCode.INVALID_ARGS, "role must be viewer or editor")
    member_id = await _target(ctx, args.username)
    files, tx, me = ctx.services.files, ctx.write_tx, ctx.identity
    if shared := await files.shared_by_name(tx, me.user_id, wire.path_key(name)):
        ns_id, name = shared  # "team" is the share "Team": one folder on most file systems
    else:
        home = await files.ensure_home(tx, me.user_id, ctx.services.ids.next(), now_ms())
        name = await _folder_in_home(ctx, home, name)
        ns_id = ctx.services.ids.next()
        await files.create_shared(tx, ns_id, me.user_id, name, now_ms())
        await _move_into_share(ctx, home, ns_id, name)
    mounted: str | None = None
    if await files.namespace_for(member_id, ns_id, tx) is None:  # new member: pick a mount
        taken = await files.top_level_names(tx, member_id)
        mounted = mount_name(name, me.username, taken)
        mounted = None if mounted == name else mounted
    await files.set_member(tx, ns_id, member_id, args.role.value, mounted)
    members = await files.members(ns_id, tx)
    for user_id, *_ in members:
        ctx.emit([user_id], "files.membership", wire.MembershipChanged(str(ns_id), name))
    return await _info(ctx, ns_id)


async def _folder_in_home(ctx: OpContext, home: int, name: str) -> str:
    """The top-level name to share, spelled as the home spells it: "team" for a folder
    "Team" is the same folder on case-insensitive file systems, and two of them would
    collide there. A file of that name is refused: only a folder becomes a share. A name
    with nothing under it makes a new, empty shared folder."""
    key = wire.path_key(name)
    spelled = (await ctx.services.files.live_paths_by_key(ctx.write_tx, home, [key])).get(key)
    if not spelled:
        return name
    existing = name if name in spelled else min(spelled)
    kinds = await ctx.services.files.live_kinds(ctx.write_tx, home, [existing])
    if kinds.get(existing, "dir") != "dir":
        raise RoostError(
            ErrorCode.INVALID_ARGS, f"{existing!r} is a file; only a folder can be shared"
        )
    return existing


async def _move_into_share(ctx: OpContext, home: int, ns_id: int, name: str) -> None:
    """The folder's live files become the share's first versions (same blocks, so no bytes
    move); the home keeps tombstones, which clients ignore under a mount."""
    files, tx = ctx.services.files, ctx.write_tx
    for v in await files.live_under(tx, home, name):
        if v.path != name:
            inner = v.path[len(name) + 1 :]
            await add_version(ctx, ns_id, NewVersion(
                inner, wire.path_key(inner), v.kind, v.size, v.mtime_ms, False, None, v.blocks
            ))  # fmt: skip
        await add_version(ctx, home, NewVersion(
            v.path, wire.path_key(v.path), v.kind, 0, v.mtime_ms, True, v.id, ()
        ))  # fmt: skip
    await announce(ctx, home)
    await announce(ctx, ns_id)


async def unshare(ctx: OpContext, args: wire.Unshare) -> wire.ShareInfo:
    name = folder_name(args.folder)
    member_id = await _target(ctx, args.username)
    files, tx = ctx.services.files, ctx.write_tx
    shared = await files.shared_by_name(tx, ctx.identity.user_id, wire.path_key(name))
    if shared is None:
        await _not_someone_elses(ctx, name)
        raise RoostError(ErrorCode.NOT_FOUND, f"you own no shared folder {name!r}")
    ns_id, name = shared
    if not await files.remove_member(tx, ns_id, member_id):
        raise RoostError(ErrorCode.NOT_FOUND, f"{args.username} is not a member of {name!r}")
    event = wire.MembershipChanged(str(ns_id), name)
    ctx.emit([member_id], "files.membership", event)
    return await _info(ctx, ns_id)


async def shares(ctx: OpContext, args: Empty) -> wire.ShareList:
    me = ctx.identity
    found = [
        await _info(ctx, ns.id)
        for ns in await ctx.services.files.namespaces_of(me.user_id)
        if ns.kind == "shared"
    ]
    return wire.ShareList(found)


async def _info(ctx: OpContext, ns_id: int) -> wire.ShareInfo:
    ns = await ctx.services.files.namespace_for(ctx.identity.user_id, ns_id, ctx.tx)
    assert ns is not None
    members = await ctx.services.files.members(ns_id, ctx.tx)
    ns_name = await ctx.services.files.shared_name(ns_id, ctx.tx)
    return wire.ShareInfo(
        str(ns.id),
        ns.name,
        ns.owner,
        ns.role,
        [wire.Member(u, r, None if m in (None, ns_name) else m) for _, u, r, m in members],
    )


HANDLERS: dict[str, Handler] = {
    "files.share": share,
    "files.unshare": unshare,
    "files.shares": shares,
}
