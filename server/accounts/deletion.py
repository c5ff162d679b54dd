"""The handler of admin.delete_user: one transaction (storage/server/account_deletion.py), then the
account's live connections close, caches forget what changed, and the others in its
conversations hear that it left."""

from __future__ import annotations

from protocol import account_changes as wire
from protocol.envelope import encode_event
from protocol.errors import ErrorCode, RoostError
from server.accounts.admin import audit, require_admin
from server.chat.commit import wire_new_message
from server.context import OpContext
from server.router import Handler
from server.session import CLOSE_REVOKED
from storage.database import now_ms
from storage.server.account_deletion import AccountEraser
from storage.server.chat import NewMessage


async def delete_user(ctx: OpContext, args: wire.DeleteUser) -> wire.UserDeleted:
    require_admin(ctx)
    services, me = ctx.services, ctx.identity
    username = args.username.lower()
    if username == me.username:
        # Another admin deletes an admin's account; so a server never deletes its last admin.
        raise RoostError(
            ErrorCode.FORBIDDEN, "you cannot delete your own account: ask another admin"
        )
    user = await services.accounts.user_by_name(username, services.db.reader)
    if user is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user {username!r}")
    social = services.social
    eraser = AccountEraser(
        social.posts, social.follows, social.timelines, services.chat, services.files
    )
    async with services.db.write() as tx:
        done = await eraser.delete(tx, user.id, now_ms())
    for device_id in done.devices:
        services.hub.kick_device(device_id, CLOSE_REVOKED, "this account was deleted")
    social.forget_posts(done.touched_posts)
    social.forget_all_homes()
    for row, audience in done.left:
        services.hub.publish(audience, _event(row, user.username))
    audit(
        ctx,
        "deleted the account",
        user.username,
        f"{len(done.posts)} post(s), {done.files_removed} file version(s),"
        f" {len(done.handed_over)} share(s) handed over, {len(done.devices)} device(s) logged out",
    )
    return wire.UserDeleted(
        username=user.username,
        posts=len(done.posts),
        likes=done.likes,
        conversations_left=len(done.left),
        conversations_removed=done.conversations_removed,
        files_removed=done.files_removed,
        shares_handed_over=[wire.HandedOver(f, o) for f, o in done.handed_over],
        attachments=done.attachments,
        devices_logged_out=len(done.devices),
    )


def _event(row: NewMessage, username: str) -> bytes:
    return encode_event("chat.message", wire_new_message(row, username, username))


HANDLERS: dict[str, Handler] = {"admin.delete_user": delete_user}
