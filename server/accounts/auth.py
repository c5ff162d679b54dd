"""Handlers for auth.* and devices.*: accounts, device tokens, revocation."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from protocol import accounts as wire
from protocol.accounts import ACCOUNT_DISABLED
from protocol.errors import ErrorCode, RoostError
from protocol.types import Empty
from server.accounts import registration
from server.addresses import address_key
from server.context import OpContext
from server.logs import auth_event
from server.quota import uncommitted_cap
from server.router import Handler
from server.session import CLOSE_REVOKED
from storage.database import now_ms
from storage.errors import Duplicate
from storage.server.accounts import ADMIN, MEMBER
from storage.server.credentials import secret_hash
from storage.server.space import storage_use

TOKEN_BYTES = 32  # 256 random bits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


async def register(ctx: OpContext, args: wire.Registration) -> wire.DeviceSession:
    services = ctx.services
    username = args.username.lower()
    address, key = ctx.session.address, address_key(ctx.session.address)
    mode = services.config.registration
    try:  # what the server's mode needs first: a closed server says so, not "name taken"
        await registration.check_before_hashing(
            services.db.reader, services.accounts, services.invites, mode, args.invite, now_ms()
        )
    except RoostError as exc:
        _refused(username, address, exc)
        raise
    if await services.accounts.user_by_name(username, services.db.reader) is not None:
        raise RoostError(ErrorCode.USERNAME_TAKEN, f"username {username!r} is taken")
    try:
        services.auth_limits.start_registration(key)  # rate_limited past its share this hour
    except RoostError as exc:
        auth_event(logging.WARNING, "registration rate-limited", addr=address, user=username,
                   code=exc.code.value)  # fmt: skip
        raise
    try:
        password_hash = await services.passwords.hash(args.password, requester=key)
        token = new_token()
        now = now_ms()
        async with services.db.write() as tx:
            first, invite_id = await registration.admit(
                tx, services.accounts, services.invites, mode, args.invite, now
            )
            # The server's first account is the person setting it up: its admin.
            user = await services.accounts.create_user(
                tx, services.ids.next(), username, password_hash, now, ADMIN if first else MEMBER
            )
            device = await services.accounts.create_device(
                tx, services.ids.next(), user.id, args.device_name, secret_hash(token), now
            )
    except Duplicate:  # lost a race with another registration of the same name
        services.auth_limits.registration_refused(key)
        raise RoostError(ErrorCode.USERNAME_TAKEN, f"username {username!r} is taken") from None
    except RoostError as exc:
        services.auth_limits.registration_refused(key)
        if exc.code is ErrorCode.FORBIDDEN:
            _refused(username, address, exc)
        raise
    except BaseException:
        services.auth_limits.registration_refused(key)
        raise
    services.auth_limits.login_succeeded(key, username)  # its address is known to it now
    auth_event(logging.INFO, "registered", addr=address, user=username, device=str(device.id),
               role=user.role, invite=invite_id)  # fmt: skip
    return wire.DeviceSession(str(user.id), username, str(device.id), device.name, token, user.role)


def _refused(username: str, address: str, exc: RoostError) -> None:
    auth_event(logging.WARNING, "registration refused", addr=address, user=username,
               code=exc.code.value, reason=exc.message)  # fmt: skip


async def login(ctx: OpContext, args: wire.Credentials) -> wire.DeviceSession:
    services = ctx.services
    username = args.username.lower()
    address, key = ctx.session.address, address_key(ctx.session.address)
    try:
        services.auth_limits.check_login(key, username)  # rate_limited after repeated failures
    except RoostError as exc:
        auth_event(logging.WARNING, "login rate-limited", addr=address, user=username,
                   code=exc.code.value)  # fmt: skip
        raise
    user = await services.accounts.user_by_name(username, services.db.reader)
    stored = user.password_hash if user else None
    if not await services.passwords.verify(stored, args.password, requester=key):
        services.auth_limits.login_failed(key, username)
        auth_event(logging.WARNING, "login failed", addr=address, user=username,
                   code=ErrorCode.INVALID_CREDENTIALS.value)  # fmt: skip
        raise RoostError(ErrorCode.INVALID_CREDENTIALS, "wrong username or password")
    assert user is not None
    if user.disabled_at is not None:  # told only to someone who knows the password
        auth_event(logging.WARNING, "login refused", addr=address, user=username,
                   code="disabled")  # fmt: skip
        raise RoostError(ErrorCode.FORBIDDEN, ACCOUNT_DISABLED)
    services.auth_limits.login_succeeded(key, username)
    rehash = services.passwords.needs_rehash(user.password_hash)
    new_hash = await services.passwords.hash(args.password, requester=key) if rehash else None
    token = new_token()
    async with services.db.write() as tx:
        if new_hash is not None:
            await services.accounts.set_password_hash(tx, user.id, new_hash)
        device = await services.accounts.create_device(
            tx, services.ids.next(), user.id, args.device_name, secret_hash(token), now_ms()
        )
    auth_event(logging.INFO, "login ok", addr=address, user=username, device=str(device.id))
    return wire.DeviceSession(
        str(user.id), user.username, str(device.id), device.name, token, user.role
    )


async def logout(ctx: OpContext, args: Empty) -> Empty:
    await _revoke(ctx, ctx.identity.device_id, "logout")
    return Empty()


async def whoami(ctx: OpContext, args: Empty) -> wire.WhoAmI:
    me = ctx.identity
    return wire.WhoAmI(str(me.user_id), me.username, str(me.device_id), me.device_name, me.role)


async def list_devices(ctx: OpContext, args: Empty) -> wire.DeviceList:
    me = ctx.identity
    records = await ctx.services.accounts.devices_of(me.user_id)
    return wire.DeviceList(
        [
            wire.Device(
                id=str(r.id),
                name=r.name,
                created_at=_time(r.created_at),
                last_seen_at=_time(r.last_seen_at) if r.last_seen_at else None,
                current=r.id == me.device_id,
            )
            for r in records
        ]
    )


async def revoke_device(ctx: OpContext, args: wire.RevokeDevice) -> Empty:
    await _revoke(ctx, int(args.device_id), "device revoked")
    return Empty()


async def _revoke(ctx: OpContext, device_id: int, event: str) -> None:
    me = ctx.identity
    async with ctx.services.db.write() as tx:
        revoked = await ctx.services.accounts.revoke_device(tx, me.user_id, device_id, now_ms())
    if not revoked:  # someone else's device looks exactly like a missing one
        raise RoostError(ErrorCode.NOT_FOUND, f"no device {device_id} on your account")
    auth_event(logging.INFO, event, addr=ctx.session.address, user=me.username,
               device=str(device_id))  # fmt: skip
    if device_id == me.device_id:
        ctx.services.hub.detach(ctx.session)
        ctx.session.identity = None  # this connection may finish reading its reply, nothing more
    ctx.services.hub.kick_device(device_id, CLOSE_REVOKED, "device token revoked")


async def usage(ctx: OpContext, args: Empty) -> wire.Usage:
    limits = ctx.services.config.limits
    use = await storage_use(ctx.services.db.reader, ctx.identity.user_id)
    return wire.Usage(
        used_bytes=use.bytes,
        quota_bytes=limits.quota_bytes,
        max_file_bytes=limits.max_file_bytes,
        max_post_chars=limits.max_post_chars,
        max_message_chars=limits.max_message_chars,
        max_request_bytes=limits.max_request_bytes,
        ops_per_second=limits.ops_per_second,
        ops_burst=limits.ops_burst,
        entries=use.entries,
        max_entries=limits.max_entries,
        uncommitted_bytes=use.uncommitted_bytes,
        max_uncommitted_bytes=uncommitted_cap(
            limits.max_uncommitted_bytes, limits.max_file_bytes, limits.quota_bytes
        ),
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


HANDLERS: dict[str, Handler] = {
    "auth.register": register,
    "auth.login": login,
    "auth.logout": logout,
    "auth.whoami": whoami,
    "devices.list": list_devices,
    "devices.revoke": revoke_device,
    "account.usage": usage,
}
