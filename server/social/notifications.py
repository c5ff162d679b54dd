"""Notifications: stored in the op's transaction, pushed live after commit, listed newest
first with a per-user read marker."""

from __future__ import annotations

from protocol import social as wire
from server.context import OpContext
from server.router import Handler
from server.social.block_rules import notifies
from server.social.services import SocialServices, as_id, when
from storage.database import Handle, now_ms
from storage.server.notifications import NotificationRecord

# follow_request: someone asks to follow a locked account (its owner is told);
# follow_accepted: the locked account approved the request (the requester is told).
KINDS = ("mention", "reply", "like", "repost", "follow", "follow_request", "follow_accepted")


async def notify(
    ctx: OpContext,
    user_id: int,
    kind: str,
    post_id: int | None = None,
    *,
    actor: int | None = None,
) -> None:
    """Tell `user_id` that `actor` (by default the caller) did `kind` (never oneself)."""
    assert kind in KINDS
    actor = ctx.identity.user_id if actor is None else actor
    if user_id == actor:
        return
    social = ctx.services.social
    if not notifies(await social.blocks.between(ctx.write_tx, user_id, actor)):
        return  # the recipient blocked or muted the actor: nothing stored, nothing pushed
    record = await social.notifications.add(
        ctx.write_tx, ctx.services.ids.next(), user_id, kind, actor, post_id, now_ms()
    )
    [event] = await _wire_notifications(ctx.services.social, ctx.write_tx, user_id, [record], None)
    ctx.emit([user_id], "notification.new", event, to_self=True)


async def _wire_notifications(
    social: SocialServices,
    conn: Handle,
    user_id: int,
    records: list[NotificationRecord],
    read_up_to: int | None,
) -> list[wire.Notification]:
    post_ids = [r.post_id for r in records if r.post_id is not None]
    posts = {int(p.id): p for p in await social.views(conn, user_id, post_ids)}
    return [
        wire.Notification(
            id=str(r.id),
            kind=r.kind,
            actor=r.actor,
            created_at=when(r.created_at),
            post=posts.get(r.post_id) if r.post_id is not None else None,
            unread=read_up_to is None or r.id > read_up_to,
        )
        for r in records
    ]


async def list_notifications(ctx: OpContext, args: wire.ListNotifications) -> wire.Notifications:
    social = ctx.services.social
    me = ctx.identity.user_id
    before = as_id(args.before)
    records = await social.notifications.page(ctx.conn, me, before, args.limit)
    read_up_to = await social.notifications.read_up_to(ctx.conn, me)
    unread = await social.notifications.unread_count(ctx.conn, me, read_up_to)
    items = await _wire_notifications(social, ctx.conn, me, records, read_up_to)
    more = len(records) == args.limit
    return wire.Notifications(
        notifications=items,
        read_up_to=str(read_up_to) if read_up_to is not None else None,
        unread=unread,
        next_before=str(records[-1].id) if more else None,
    )


async def mark_read(ctx: OpContext, args: wire.MarkNotificationsRead) -> wire.ReadMarker:
    social = ctx.services.social
    me = ctx.identity.user_id
    tx = ctx.write_tx
    up_to = as_id(args.up_to) or await social.notifications.newest_id(tx, me)
    if up_to is not None:
        await social.notifications.mark_read(tx, me, up_to)
    marker = await social.notifications.read_up_to(tx, me)
    return wire.ReadMarker(
        read_up_to=str(marker) if marker is not None else None,
        unread=await social.notifications.unread_count(tx, me, marker),
    )


HANDLERS: dict[str, Handler] = {
    "notifications.list": list_notifications,
    "notifications.read": mark_read,
}
