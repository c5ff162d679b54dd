"""Admin ops, through the server: invites, and the accounts on it (list, disable, enable,
promote, demote). Every op checks `require_admin` first, and every change is logged on
`roost.admin` with who made it, to whom, and from which address.

Rules (plain functions below): a server keeps at least one admin who can log in, so the last
one can neither demote nor disable themselves. An admin may disable another admin (a lost or
misused account); the role stays, so enabling it restores it as it was.
"""

from __future__ import annotations

import logging

from protocol import admin as wire
from protocol.accounts import ACCOUNT_DISABLED, CLOSE_DISABLED
from protocol.errors import ErrorCode, RoostError
from protocol.types import Empty
from server.accounts import registration
from server.context import OpContext
from server.router import Handler
from server.social.services import when
from storage.database import now_ms
from storage.errors import Duplicate
from storage.server.accounts import ADMIN, MEMBER, AccountRow, User
from storage.server.credentials import secret_hash
from storage.server.invites import InviteRecord
from storage.server.space import storage_use

admin_log = logging.getLogger("roost.admin")

DISABLE, ENABLE, PROMOTE, DEMOTE = "disable", "enable", "promote", "demote"
LAST_ADMIN = "the server must keep an admin who can log in: promote another account first"


def require_admin(ctx: OpContext) -> None:
    """Refuse a caller without the admin role (the server's first account has it)."""
    if not ctx.identity.admin:
        raise RoostError(ErrorCode.FORBIDDEN, "only an admin of this server may do that")


def change_problem(change: str, target: User, active_admins: int) -> str | None:
    """Why an account change may not be made; None: it may. `active_admins` counts the admins
    who can log in now."""
    keeps_admin = target.admin and target.disabled_at is None
    if change in (DISABLE, DEMOTE) and keeps_admin and active_admins <= 1:
        return LAST_ADMIN
    return None


def audit(ctx: OpContext, action: str, target: str, detail: str = "") -> None:
    """One line per admin action: who, what, to whom, from where (never a code or password)."""
    me, address = ctx.identity.username, ctx.session.address
    admin_log.info(
        "%s %s %s from %s%s",
        me,
        action,
        target,
        address,
        f": {detail}" if detail else "",
        extra={"user": me, "addr": address},
    )


# ------------------------------------------------------------------------------ invites
async def create_invite(ctx: OpContext, args: wire.CreateInvite) -> wire.NewInvite:
    require_admin(ctx)
    services, now = ctx.services, now_ms()
    expires_at = now + args.expires_in * 1000 if args.expires_in is not None else None
    for _ in range(5):  # 32-bit ids: a clash is rare, and a fresh one fixes it
        invite_id, code = registration.new_invite_code()
        try:
            async with services.db.write() as tx:
                await services.invites.create(
                    tx,
                    invite_id,
                    secret_hash(code),
                    ctx.identity.user_id,
                    now,
                    expires_at,
                    args.uses,
                )
                record = await services.invites.by_id(tx, invite_id)
            break
        except Duplicate:
            continue
    else:
        raise RoostError(ErrorCode.INTERNAL, "could not make an invite code; try again")
    assert record is not None
    audit(ctx, "created invite", f"{invite_id} ({_limits(record)})")
    return wire.NewInvite(code, wire_invite(record, now))


async def list_invites(ctx: OpContext, args: Empty) -> wire.InviteList:
    require_admin(ctx)
    now = now_ms()
    return wire.InviteList([wire_invite(r, now) for r in await ctx.services.invites.all()])


async def revoke_invite(ctx: OpContext, args: wire.RevokeInvite) -> wire.Invite:
    require_admin(ctx)
    invites = ctx.services.invites
    async with ctx.services.db.write() as tx:
        given = args.code
        record = (
            await invites.by_id(tx, given)
            if len(given) == 8 and "-" not in given
            else await invites.by_hash(tx, secret_hash(given))
        )
        if record is None:
            raise RoostError(ErrorCode.NOT_FOUND, "no such invite: roost admin invites lists them")
        await invites.revoke(tx, record.id, now_ms())
        record = await invites.by_id(tx, record.id)
    assert record is not None
    audit(ctx, "revoked invite", record.id)
    return wire_invite(record, now_ms())


def wire_invite(record: InviteRecord, now: int) -> wire.Invite:
    return wire.Invite(
        id=record.id,
        uses=record.uses,
        uses_left=record.uses - record.used,
        created_by=record.created_by or "(deleted)",
        created_at=when(record.created_at),
        expires_at=when(record.expires_at) if record.expires_at is not None else None,
        state=registration.invite_state(record, now),
    )


def _limits(record: InviteRecord) -> str:
    expiry = "never expires"
    if record.expires_at is not None:
        expiry = f"expires {when(record.expires_at):%Y-%m-%d %H:%M:%S} UTC"
    return f"{record.uses} use(s), {expiry}"


# ------------------------------------------------------------------------------ accounts
async def list_users(ctx: OpContext, args: Empty) -> wire.AccountList:
    require_admin(ctx)
    rows = await ctx.services.accounts.accounts()
    return wire.AccountList([await _summary(ctx, row) for row in rows])


async def disable(ctx: OpContext, args: wire.AccountRef) -> wire.AccountSummary:
    return await _change(ctx, args.username, DISABLE)


async def enable(ctx: OpContext, args: wire.AccountRef) -> wire.AccountSummary:
    return await _change(ctx, args.username, ENABLE)


async def promote(ctx: OpContext, args: wire.AccountRef) -> wire.AccountSummary:
    return await _change(ctx, args.username, PROMOTE)


async def demote(ctx: OpContext, args: wire.AccountRef) -> wire.AccountSummary:
    return await _change(ctx, args.username, DEMOTE)


async def _change(ctx: OpContext, username: str, change: str) -> wire.AccountSummary:
    require_admin(ctx)
    services = ctx.services
    accounts = services.accounts
    async with services.db.write() as tx:
        target = await accounts.user_by_name(username.lower(), tx)
        if target is None:
            raise RoostError(ErrorCode.NOT_FOUND, f"no account named {username.lower()!r}")
        if problem := change_problem(change, target, await accounts.active_admins(tx)):
            raise RoostError(ErrorCode.CONFLICT, problem)
        if change == DISABLE and target.disabled_at is None:
            await accounts.set_disabled(tx, target.id, now_ms())
        elif change == ENABLE:
            await accounts.set_disabled(tx, target.id, None)
        elif change in (PROMOTE, DEMOTE):
            await accounts.set_role(tx, target.id, ADMIN if change == PROMOTE else MEMBER)
        row = await accounts.account(tx, target.id)
    # Committed: now the account's live connections learn of it.
    if change == DISABLE:
        services.hub.kick_user(target.id, CLOSE_DISABLED, ACCOUNT_DISABLED)
    elif change in (PROMOTE, DEMOTE):
        services.hub.set_role(target.id, row.role)
    audit(ctx, f"{change}d", target.username)  # disabled, enabled, promoted, demoted
    return await _summary(ctx, row)


async def _summary(ctx: OpContext, row: AccountRow) -> wire.AccountSummary:
    use = await storage_use(ctx.services.db.reader, row.id)
    return wire.AccountSummary(
        username=row.username,
        role=row.role,
        created_at=when(row.created_at),
        last_seen_at=when(row.last_seen_at) if row.last_seen_at is not None else None,
        devices=row.devices,
        used_bytes=use.bytes,
        disabled_at=when(row.disabled_at) if row.disabled_at is not None else None,
    )


HANDLERS: dict[str, Handler] = {
    "admin.invites.create": create_invite,
    "admin.invites.list": list_invites,
    "admin.invites.revoke": revoke_invite,
    "admin.users.list": list_users,
    "admin.users.disable": disable,
    "admin.users.enable": enable,
    "admin.users.promote": promote,
    "admin.users.demote": demote,
}
