"""Handlers for sharing: a top-level folder of the owner's home becomes its own namespace, which
each member's workspace mounts under the folder's name.

Nobody becomes a member without asking for it: `files.share` offers the folder (an invitation),
and only the invitee's `files.share.accept` makes them a member. Until then they can read,
write and mount nothing of it (membership is the one thing every files check looks at), so a
share cannot be pushed onto someone's disk, nor their files pulled into it.
"""

from __future__ import annotations

from protocol import files as wire
from protocol.errors import ErrorCode, RoostError
from protocol.types import Empty
from server.context import OpContext
from server.files.handlers import add_version, announce
from server.router import Handler
from storage.database import now_ms
from storage.server.files import InvitationRecord, NamespaceRecord, NewVersion

# Invitations one owner may have waiting for one user's answer: enough for any real group, few
# enough that nobody's list of invitations can be flooded (each needs only an empty folder).
MAX_PENDING_FROM_ONE_OWNER = 20


def folder_name(folder: str) -> str:
    name = wire.validate_path(folder.strip("/"))
    if "/" in name:
        raise RoostError(ErrorCode.INVALID_ARGS, "only a top-level folder can be shared")
    return name


async def _target(ctx: OpContext, username: str) -> int:
    user = await ctx.services.accounts.user_by_name(username.lower(), ctx.conn)
    if user is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    if user.id == ctx.identity.user_id:
        raise RoostError(ErrorCode.INVALID_ARGS, "you already own this folder")
    return user.id


async def _not_someone_elses(ctx: OpContext, name: str) -> None:
    """A member mounts another's share under its folder name: sharing or unsharing that name
    would act on the owner's folder, which only the owner may do."""
    for ns in await ctx.services.files.namespaces_of(ctx.identity.user_id, ctx.conn):
        if ns.kind == "shared" and ns.role != wire.Role.OWNER:
            if wire.path_key(ns.name) == wire.path_key(name):
                raise RoostError(
                    ErrorCode.FORBIDDEN, f"{ns.name!r} is @{ns.owner}'s; only they can share it"
                )


def _refuse_reserved(name: str) -> None:
    if problem := wire.share_name_problem(name):
        raise RoostError(ErrorCode.INVALID_ARGS, f"{name!r} cannot be shared: {problem}")


async def share(ctx: OpContext, args: wire.Share) -> wire.ShareInfo:
    """Invite a user to a folder (or change the role of a member, or of a waiting invitation)."""
    name = folder_name(args.folder)
    await _not_someone_elses(ctx, name)
    if args.role == wire.Role.OWNER:
        raise RoostError(ErrorCode.INVALID_ARGS, "role must be viewer or editor")
    member_id = await _target(ctx, args.username)
    files, tx, me = ctx.services.files, ctx.write_tx, ctx.identity
    if shared := await files.shared_by_name(tx, me.user_id, wire.path_key(name)):
        ns_id, name = shared  # "team" is the share "Team": one folder on most file systems
        _refuse_reserved(name)  # a share an older server let through gets nobody new
    else:
        home = await files.ensure_home(tx, me.user_id, ctx.services.ids.next(), now_ms())
        name = await _folder_in_home(ctx, home, name)
        _refuse_reserved(name)
        ns_id = ctx.services.ids.next()
        await files.create_shared(tx, ns_id, me.user_id, name, now_ms())
        await _move_into_share(ctx, home, ns_id, name)
    if await files.namespace_for(member_id, ns_id, tx) is not None:  # a member: a new role
        await files.set_member(tx, ns_id, member_id, args.role.value)
        for user_id, *_ in await files.members(ns_id, tx):
            ctx.emit([user_id], "files.membership", wire.MembershipChanged(str(ns_id), name))
        return await _info(ctx, ns_id)
    waiting = await files.pending_invitation(tx, ns_id, member_id)
    if waiting is None and (
        await files.pending_between(tx, me.user_id, member_id) >= MAX_PENDING_FROM_ONE_OWNER
    ):
        raise RoostError(
            ErrorCode.CONFLICT,
            f"{args.username} has {MAX_PENDING_FROM_ONE_OWNER} invitations of yours waiting"
            " for an answer; wait for them to accept or decline some",
        )
    invitation_id = await files.invite(
        tx, ctx.services.ids.next(), ns_id, member_id, args.role.value, me.user_id, now_ms()
    )
    invited = wire.InvitationChanged(
        str(invitation_id), name, me.username, args.role.value, wire.InvitationStatus.PENDING
    )
    ctx.emit([member_id], "files.invitation", invited)
    ctx.emit([me.user_id], "files.membership", wire.MembershipChanged(str(ns_id), name))
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
    move); the home keeps tombstones, which clients ignore under a mount. What sits at the
    folder's top becomes the top of the share, where client-reserved names are refused."""
    files, tx = ctx.services.files, ctx.write_tx
    found = await files.live_under(tx, home, name)
    for v in found:
        inner = v.path[len(name) + 1 :]
        if inner and (problem := wire.reserved_problem(inner, v.kind)):
            raise RoostError(
                ErrorCode.INVALID_ARGS, f"{name!r} cannot be shared: {v.path!r}: {problem}"
            )
    for v in found:
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
    """Remove a member, or take back an invitation not answered yet."""
    name = folder_name(args.folder)
    member_id = await _target(ctx, args.username)
    files, tx = ctx.services.files, ctx.write_tx
    shared = await files.shared_by_name(tx, ctx.identity.user_id, wire.path_key(name))
    if shared is None:
        await _not_someone_elses(ctx, name)
        raise RoostError(ErrorCode.NOT_FOUND, f"you own no shared folder {name!r}")
    ns_id, name = shared
    if await files.remove_member(tx, ns_id, member_id):
        event = wire.MembershipChanged(str(ns_id), name)
        ctx.emit([member_id], "files.membership", event)
        ctx.emit([ctx.identity.user_id], "files.membership", event)
    elif waiting := await files.pending_invitation(tx, ns_id, member_id):
        await files.drop_invitation(tx, waiting.id)
        ctx.emit([member_id], "files.invitation", wire_invitation_changed(waiting, "withdrawn"))
    else:
        raise RoostError(ErrorCode.NOT_FOUND, f"{args.username} is not a member of {name!r}")
    return await _info(ctx, ns_id)


def wire_invitation_changed(invitation: InvitationRecord, status: str) -> wire.InvitationChanged:
    return wire.InvitationChanged(
        str(invitation.id), invitation.folder, invitation.owner, invitation.role, status
    )


async def _invitation(ctx: OpContext, invitation_id: str) -> InvitationRecord:
    """The caller's own invitation; anyone else's looks exactly like one that does not exist."""
    found = await ctx.services.files.invitation(
        ctx.write_tx, int(invitation_id), ctx.identity.user_id
    )
    if found is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no invitation {invitation_id} for you")
    return found


async def accept(ctx: OpContext, args: wire.AnswerInvitation) -> wire.ShareInfo:
    """Join the share. Its mount name is chosen now, from what the workspace holds now: the
    share's name unless a top-level file, folder or share of the caller's has it (or it is a
    name the client keeps for itself), else "NAME (from OWNER)"."""
    invitation = await _invitation(ctx, args.invitation_id)
    files, tx, me = ctx.services.files, ctx.write_tx, ctx.identity
    taken = await files.top_level_names(tx, me.user_id)
    if wire.share_name_problem(invitation.folder):  # made by an older server
        taken.add(invitation.folder.casefold())
    mounted = wire.mount_name(invitation.folder, invitation.owner, taken)
    await files.set_member(
        tx,
        invitation.namespace_id,
        me.user_id,
        invitation.role,
        None if mounted == invitation.folder else mounted,
    )
    await files.drop_invitation(tx, invitation.id)
    event = wire.MembershipChanged(str(invitation.namespace_id), invitation.folder)
    members = await files.members(invitation.namespace_id, tx)
    ctx.emit([user_id for user_id, *_ in members], "files.membership", event)
    ctx.emit([me.user_id], "files.invitation", wire_invitation_changed(invitation, "accepted"))
    return await _info(ctx, invitation.namespace_id)


async def decline(ctx: OpContext, args: wire.AnswerInvitation) -> Empty:
    invitation = await _invitation(ctx, args.invitation_id)
    await ctx.services.files.drop_invitation(ctx.write_tx, invitation.id)
    event = wire.MembershipChanged(str(invitation.namespace_id), invitation.folder)
    ctx.emit([invitation.owner_id], "files.membership", event)
    ctx.emit(
        [ctx.identity.user_id], "files.invitation", wire_invitation_changed(invitation, "declined")
    )
    return Empty()


async def _mine(ctx: OpContext, name: str) -> NamespaceRecord:
    """The share the caller's workspace shows as `name` (case-insensitively)."""
    found = [
        ns
        for ns in await ctx.services.files.namespaces_of(ctx.identity.user_id, ctx.conn)
        if ns.kind == "shared"
    ]
    for ns in found:
        if wire.path_key(ns.name) == wire.path_key(name):
            return ns
    yours = ", ".join(repr(ns.name) for ns in found) or "none"
    raise RoostError(ErrorCode.NOT_FOUND, f"you are in no shared folder {name!r} (yours: {yours})")


async def leave(ctx: OpContext, args: wire.LeaveShare) -> wire.Left:
    """Stop being a member. The caller's devices keep their copy as "NAME (unshared)", as when
    the owner removes a member. An owner unshares instead: a share always has its owner."""
    ns = await _mine(ctx, folder_name(args.folder))
    if ns.role == wire.Role.OWNER:
        raise RoostError(
            ErrorCode.FORBIDDEN,
            f"{ns.name!r} is yours; remove its members instead"
            f" (roost share {ns.name} USER --revoke)",
        )
    files, tx = ctx.services.files, ctx.write_tx
    await files.remove_member(tx, ns.id, ctx.identity.user_id)
    event = wire.MembershipChanged(str(ns.id), ns.name)
    ctx.emit([ctx.identity.user_id], "files.membership", event)
    ctx.emit([user_id for user_id, *_ in await files.members(ns.id, tx)], "files.membership", event)
    return wire.Left(str(ns.id), ns.name)


async def shares(ctx: OpContext, args: Empty) -> wire.ShareList:
    files, me = ctx.services.files, ctx.identity
    found = [
        await _info(ctx, ns.id)
        for ns in await files.namespaces_of(me.user_id, ctx.conn)
        if ns.kind == "shared"
    ]
    offered = [
        wire.Invitation(str(i.id), i.folder, i.owner, i.role, i.created_at)
        for i in await files.invitations_for(me.user_id, ctx.conn)
    ]
    return wire.ShareList(found, offered)


async def _info(ctx: OpContext, ns_id: int) -> wire.ShareInfo:
    """The share as the caller sees it; its owner also sees who has not answered yet."""
    files = ctx.services.files
    ns = await files.namespace_for(ctx.identity.user_id, ns_id, ctx.conn)
    assert ns is not None
    members = await files.members(ns_id, ctx.conn)
    ns_name = await files.shared_name(ns_id, ctx.conn)
    shown = [wire.Member(u, r, None if m in (None, ns_name) else m) for _, u, r, m in members]
    if ns.role == wire.Role.OWNER:
        waiting = await files.invitations_of(ns_id, ctx.conn)
        shown += [wire.Member(i.username, i.role, pending=True) for i in waiting]
    return wire.ShareInfo(str(ns.id), ns.name, ns.owner, ns.role, shown)


HANDLERS: dict[str, Handler] = {
    "files.share": share,
    "files.unshare": unshare,
    "files.shares": shares,
    "files.share.accept": accept,
    "files.share.decline": decline,
    "files.share.leave": leave,
}
