"""Handlers for changing a password, an admin issuing a one-time reset code, and redeeming it.

Both ways of setting a password go through the login's failed-attempt limits
(server/accounts/failed_attempts.py): a stolen token cannot guess the old password any faster than a
login could, and an address guessing reset codes slows down as one guessing passwords does.
Neither the codes nor the passwords are ever logged.
"""

from __future__ import annotations

import base64
import logging
import secrets

from protocol import account_changes as wire
from protocol.errors import ErrorCode, RoostError
from server.accounts.admin import audit, require_admin
from server.addresses import address_key
from server.context import OpContext
from server.logs import auth_event
from server.router import Handler
from server.session import CLOSE_REVOKED
from server.social.services import when
from storage.database import now_ms
from storage.server import credentials
from storage.server.credentials import secret_hash

RESET_CODE_LIFETIME_MS = 24 * 3600 * 1000
# What the failed-attempt counts file reset-code guesses under: no username has parentheses,
# so they never mix with an account's own count; an address's count is shared with logins.
RESET_KEY = "(reset code)"


def new_reset_code() -> str:
    """120 random bits as 24 base32 characters (letters and 2-7: no 0/O or 1/I to mix up)."""
    return base64.b32encode(secrets.token_bytes(wire.RESET_CODE_BYTES)).decode()


async def change_password(ctx: OpContext, args: wire.ChangePassword) -> wire.PasswordChanged:
    services, me = ctx.services, ctx.identity
    address, key = ctx.session.address, address_key(ctx.session.address)
    services.auth_limits.check_login(key, me.username)  # rate_limited after repeated failures
    user = await services.accounts.user_by_name(me.username, services.db.reader)
    stored = user.password_hash if user else None
    if not await services.passwords.verify(stored, args.old_password, requester=key):
        services.auth_limits.login_failed(key, me.username)
        auth_event(logging.WARNING, "password change failed", addr=address, user=me.username,
                   code=ErrorCode.INVALID_CREDENTIALS.value)  # fmt: skip
        raise RoostError(
            ErrorCode.INVALID_CREDENTIALS, "wrong password: your password is unchanged"
        )
    services.auth_limits.login_succeeded(key, me.username)
    new_hash = await services.passwords.hash(args.new_password, requester=key)
    async with services.db.write() as tx:
        await services.accounts.set_password_hash(tx, me.user_id, new_hash)
        revoked = []
        if args.log_out_others:
            revoked = await credentials.revoke_devices(tx, me.user_id, now_ms(), keep=me.device_id)
    _close(ctx, revoked, "device token revoked: the account's password was changed")
    auth_event(logging.INFO, "password changed", addr=address, user=me.username,
               devices_logged_out=len(revoked))  # fmt: skip
    return wire.PasswordChanged(devices_logged_out=len(revoked))


async def issue_reset(ctx: OpContext, args: wire.IssueReset) -> wire.ResetCode:
    require_admin(ctx)
    services, me = ctx.services, ctx.identity
    user = await services.accounts.user_by_name(args.username.lower(), services.db.reader)
    if user is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user {args.username.lower()!r}")
    code = new_reset_code()
    now = now_ms()
    expires = now + RESET_CODE_LIFETIME_MS
    async with services.db.write() as tx:
        await credentials.issue_reset(tx, user.id, secret_hash(code), me.user_id, now, expires)
    audit(ctx, "issued a password reset code for", user.username, "valid 24 h, once")
    return wire.ResetCode(
        username=user.username,
        code=wire.show_reset_code(code),
        expires_at=when(expires),
    )


async def redeem_reset(ctx: OpContext, args: wire.RedeemReset) -> wire.PasswordReset:
    services = ctx.services
    address, key = ctx.session.address, address_key(ctx.session.address)
    limits = services.auth_limits
    limits.check_login(key, RESET_KEY)
    code = wire.normalize_reset_code(args.code)
    found = await credentials.find_reset(services.db.reader, secret_hash(code)) if code else None
    if found is None:
        limits.login_failed(key, RESET_KEY)
        auth_event(logging.WARNING, "reset code wrong", addr=address, user=None,
                   code=ErrorCode.INVALID_CREDENTIALS.value)  # fmt: skip
        raise RoostError(
            ErrorCode.INVALID_CREDENTIALS,
            "no such reset code (it may have been used or replaced): ask the server's admin for"
            " a new one",
        )
    if found.expires_at <= now_ms():
        raise RoostError(
            ErrorCode.INVALID_CREDENTIALS,
            "this reset code has expired: ask the server's admin for a new one",
        )
    new_hash = await services.passwords.hash(args.new_password, requester=key)
    async with services.db.write() as tx:
        taken = await credentials.take_reset(tx, secret_hash(code or ""))
        if taken is None:  # used by another request meanwhile: it was good once only
            raise RoostError(ErrorCode.INVALID_CREDENTIALS, "this reset code was just used")
        await services.accounts.set_password_hash(tx, taken.user_id, new_hash)
        # Whoever lost the password may also have lost a device, or the account to someone:
        # every device signs in again with the new password.
        revoked = await credentials.revoke_devices(tx, taken.user_id, now_ms())
    _close(ctx, revoked, "device token revoked: the account's password was reset")
    limits.login_succeeded(key, taken.username)
    auth_event(logging.INFO, "password reset", addr=address, user=taken.username,
               devices_logged_out=len(revoked))  # fmt: skip
    return wire.PasswordReset(username=taken.username, devices_logged_out=len(revoked))


def _close(ctx: OpContext, device_ids: list[int], reason: str) -> None:
    for device_id in device_ids:
        ctx.services.hub.kick_device(device_id, CLOSE_REVOKED, reason)


HANDLERS: dict[str, Handler] = {
    "auth.change_password": change_password,
    "auth.reset_password": redeem_reset,
    "admin.reset_password": issue_reset,
}
