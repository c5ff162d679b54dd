"""Handlers for chat.* and presence.get: decode, check membership, call the repository or the
group committer, emit events. Membership rules live in `server.chat.rules`."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from protocol import chat as wire
from protocol.errors import ErrorCode, RoostError
from protocol.types import Empty
from server.chat import rules
from server.chat.commit import wire_new_message
from server.context import OpContext
from server.quota import check_text_length
from server.router import Handler
from server.social import block_rules
from storage.database import now_ms
from storage.errors import Duplicate
from storage.server.chat import (
    DIRECT,
    GROUP,
    ConversationRecord,
    MemberRecord,
    MessageRecord,
    NewMessage,
)


# ----------------------------------------------------------------------------- targets
async def _peer_id(ctx: OpContext, username: str) -> int:
    found = await ctx.services.users.ids_of(ctx.conn, [username])
    if username not in found:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user @{username}")
    if found[username] == ctx.identity.user_id:
        raise RoostError(ErrorCode.INVALID_ARGS, "you cannot start a conversation with yourself")
    return found[username]


async def _conversation_id(ctx: OpContext, target: str, *, create: bool) -> int | None:
    """The conversation a TARGET names; a direct one is created on first send if `create`."""
    parsed = wire.parse_target(target)
    if isinstance(parsed, wire.ConversationTarget):
        return parsed.conversation_id
    chat, me = ctx.services.chat, ctx.identity.user_id
    peer = await _peer_id(ctx, parsed.username)
    found = await chat.direct_conversation_id(ctx.conn, me, peer)
    if found is not None or not create:
        return found  # an existing one: the group commit refuses a blocked sender
    between = await ctx.services.social.blocks.between(ctx.conn, me, peer)
    block_rules.check_message(between, parsed.username.lower())
    try:
        async with ctx.services.db.write() as tx:
            record = await chat.create_conversation(
                tx, ctx.services.ids.next(), DIRECT, "", me, now_ms(), direct_pair=(me, peer)
            )
            for user_id in (me, peer):
                await chat.add_member(tx, record.id, user_id, 0)
        return record.id
    except Duplicate:  # lost a race with the other person's first message
        pass
    found = await chat.direct_conversation_id(ctx.conn, me, peer)
    if found is None:
        raise RoostError(ErrorCode.INTERNAL, "could not start the conversation")
    return found


async def _membership(
    ctx: OpContext, conversation_id: int | None, *, current: bool = True
) -> MemberRecord:
    """The caller's membership; a conversation they are not in looks like a missing one."""
    found = (
        await ctx.services.chat.membership(ctx.conn, conversation_id, ctx.identity.user_id)
        if conversation_id is not None
        else None
    )
    if found is None or (current and not found.current):
        raise RoostError(ErrorCode.NOT_FOUND, f"no conversation {conversation_id}")
    return found


async def _view(ctx: OpContext, conversation_id: int) -> wire.Conversation:
    chat, me = ctx.services.chat, ctx.identity.user_id
    record = await chat.conversation(ctx.conn, conversation_id)
    mine = await chat.membership(ctx.conn, conversation_id, me)
    assert record is not None and mine is not None
    members = (await chat.members(ctx.conn, [conversation_id]))[conversation_id]
    unread = (await chat.unread_counts(ctx.conn, me)).get(conversation_id, 0)
    return conversation_view(record, mine, members, unread)


def conversation_view(
    record: ConversationRecord, mine: MemberRecord, members: list[MemberRecord], unread: int
) -> wire.Conversation:
    names = [m.username for m in members]
    name = record.name
    if record.kind == DIRECT:
        others = [n for n in names if n != mine.username]
        name = others[0] if others else mine.username
    return wire.Conversation(
        id=str(record.id),
        kind=record.kind,
        name=name,
        members=names,
        last_seq=record.last_seq if mine.left_seq is None else mine.left_seq,
        read_seq=mine.read_seq,
        unread=unread,
        member=mine.current,
    )


def wire_message(record: MessageRecord) -> wire.Message:
    return wire.Message(
        conversation=str(record.conversation_id),
        seq=record.seq,
        sender=record.sender,
        text=record.text,
        sent_at=datetime.fromtimestamp(record.sent_at / 1000, UTC),
        kind=record.kind,
        member=record.member,
    )


def wire_receipt(member: MemberRecord) -> wire.Receipt:
    return wire.Receipt(
        conversation=str(member.conversation_id),
        user=member.username,
        delivered_seq=member.delivered_seq,
        read_seq=member.read_seq,
        id=str(member.receipt_id),
    )


# ----------------------------------------------------------------------------- messages
async def send(ctx: OpContext, args: wire.SendMessage) -> msgspec.Raw:
    """Returns the committed wire.Message, already encoded by the group commit."""
    me = ctx.identity
    check_text_length(args.text, ctx.services.config.limits.max_message_chars)
    conversation_id = await _conversation_id(ctx, args.to, create=True)
    assert conversation_id is not None
    return await ctx.services.messages.send(
        me.user_id, me.username, conversation_id, args.text, args.client_id, ctx.session
    )


send.commits_itself = True  # type: ignore[attr-defined]  # group commit: see server.chat.commit


async def history(ctx: OpContext, args: wire.History) -> wire.MessagePage:
    conversation_id = await _conversation_id(ctx, args.to, create=False)
    if conversation_id is None:  # no direct conversation with that person yet
        return wire.MessagePage(None, [], False)
    mine = await _membership(ctx, conversation_id, current=False)
    rows, more = await ctx.services.chat.page(
        ctx.conn, conversation_id, before=args.before, upto=mine.visible_seq, limit=args.limit
    )
    return wire.MessagePage(str(conversation_id), [wire_message(r) for r in rows], more)


async def catch_up(ctx: OpContext, args: wire.CatchUp) -> wire.CatchUpResult:
    chat, me = ctx.services.chat, ctx.identity.user_id
    cursors = {int(c.conversation): c.seq for c in args.cursors}
    mine = await chat.conversations_of(ctx.conn, me)
    ids = [record.id for record, _ in mine]
    members = await chat.members(ctx.conn, ids)
    unread = await chat.unread_counts(ctx.conn, me)
    messages: list[wire.Message] = []
    room, more = args.limit, False
    for record, membership in mine:
        after = cursors.get(record.id, 0)
        top = record.last_seq if membership.left_seq is None else membership.left_seq
        if after >= top:
            continue
        if room == 0:
            more = True
            break
        rows = await chat.after(
            ctx.conn, record.id, after=after, upto=membership.left_seq, limit=room
        )
        messages.extend(wire_message(r) for r in rows)
        room -= len(rows)
        if rows and rows[-1].seq < top:
            more = True
    receipts = await chat.receipts_after(ctx.conn, me, int(args.receipts_after or 0))
    return wire.CatchUpResult(
        conversations=[
            conversation_view(record, membership, members[record.id], unread.get(record.id, 0))
            for record, membership in mine
        ],
        messages=messages,
        receipts=[wire_receipt(r) for r in receipts],
        receipts_cursor=str(receipts[-1].receipt_id) if receipts else args.receipts_after,
        more=more,
    )


async def list_conversations(ctx: OpContext, args: Empty) -> wire.ConversationList:
    chat, me = ctx.services.chat, ctx.identity.user_id
    mine = await chat.conversations_of(ctx.conn, me)
    members = await chat.members(ctx.conn, [record.id for record, _ in mine])
    unread = await chat.unread_counts(ctx.conn, me)
    return wire.ConversationList(
        [
            conversation_view(record, membership, members[record.id], unread.get(record.id, 0))
            for record, membership in mine
        ]
    )


# ----------------------------------------------------------------------------- receipts
async def _advance(
    ctx: OpContext, tx_cursors: list[tuple[MemberRecord, int, int]]
) -> list[MemberRecord]:
    """Move receipts forward ((old membership, delivered, read) each) inside ctx.conn, and queue
    a receipt event to the senders of the newly covered messages and to the caller's devices."""
    chat, tx = ctx.services.chat, ctx.write_tx
    updates = []
    for old, delivered, read in tx_cursors:
        if delivered > old.delivered_seq or read > old.read_seq:
            updates.append(
                (old.conversation_id, old.user_id, delivered, read, ctx.services.ids.next())
            )
    await chat.advance_receipts(tx, updates)
    changed: list[MemberRecord] = []
    for old, _, _ in tx_cursors:
        new = await chat.membership(tx, old.conversation_id, old.user_id)
        assert new is not None
        if new.receipt_id == old.receipt_id:
            continue
        changed.append(new)
        low = min(old.delivered_seq, old.read_seq)
        senders = await chat.senders_between(
            tx, old.conversation_id, low, max(new.delivered_seq, new.read_seq)
        )
        audience = rules.receipt_audience(senders, old.user_id)
        ctx.emit(audience, "chat.receipt", wire_receipt(new))
    return changed


async def mark_read(ctx: OpContext, args: wire.MarkRead) -> wire.Receipt:
    conversation_id = await _conversation_id(ctx, args.to, create=False)
    if conversation_id is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no conversation with {args.to}")
    mine = await _membership(ctx, conversation_id, current=False)
    record = await ctx.services.chat.conversation(ctx.conn, conversation_id)
    assert record is not None
    upto = rules.readable_seq(record.last_seq, mine.left_seq, args.seq)
    changed = await _advance(ctx, [(mine, upto, upto)])
    return wire_receipt(changed[0] if changed else mine)


async def delivered(ctx: OpContext, args: wire.Delivered) -> Empty:
    chat, me = ctx.services.chat, ctx.identity.user_id
    async with ctx.services.db.write() as tx:
        ctx.tx = tx
        moves = []
        for cursor in args.cursors:
            mine = await chat.membership(tx, int(cursor.conversation), me)
            record = await chat.conversation(tx, int(cursor.conversation))
            if mine is None or record is None:
                continue  # not theirs: acknowledged silently, nothing learnt
            upto = rules.readable_seq(record.last_seq, mine.left_seq, cursor.seq)
            moves.append((mine, upto, 0))
        await _advance(ctx, moves)
    ctx.tx = None
    return Empty()


# ----------------------------------------------------------------------------- groups
async def create_group(ctx: OpContext, args: wire.CreateGroup) -> wire.Conversation:
    chat, me, tx = ctx.services.chat, ctx.identity, ctx.write_tx
    names = rules.invitees(args.members, me.username)
    found = await ctx.services.users.ids_of(tx, names)
    missing = [n for n in names if n not in found]
    if missing:
        raise RoostError(ErrorCode.NOT_FOUND, "no user " + ", ".join("@" + n for n in missing))
    for name, user_id in found.items():
        between = await ctx.services.social.blocks.between(tx, me.user_id, user_id)
        block_rules.check_group_invite(between, name)
    now = now_ms()
    record = await chat.create_conversation(
        tx, ctx.services.ids.next(), GROUP, args.name, me.user_id, now
    )
    for user_id in (me.user_id, *found.values()):
        await chat.add_member(tx, record.id, user_id, 1)
    row = await chat.append(tx, record.id, me.user_id, "created", args.name, None, now)
    _emit_change(ctx, [me.user_id, *found.values()], row, me.username, None)
    return await _view(ctx, record.id)


async def _group(ctx: OpContext, conversation: str) -> tuple[ConversationRecord, MemberRecord]:
    mine = await _membership(ctx, int(conversation))
    record = await ctx.services.chat.conversation(ctx.conn, int(conversation))
    assert record is not None
    if record.kind != GROUP:
        raise RoostError(ErrorCode.INVALID_ARGS, "a direct conversation's members cannot change")
    return record, mine


async def add_member(ctx: OpContext, args: wire.GroupMember) -> wire.Conversation:
    chat, me, tx = ctx.services.chat, ctx.identity, ctx.write_tx
    record, _ = await _group(ctx, args.conversation)
    username = args.username.lower()
    found = await ctx.services.users.ids_of(tx, [username])
    if username not in found:
        raise RoostError(ErrorCode.NOT_FOUND, f"no user @{username}")
    existing = await chat.membership(tx, record.id, found[username])
    if existing is not None and existing.current:
        raise RoostError(ErrorCode.CONFLICT, f"@{username} is already in the group")
    between = await ctx.services.social.blocks.between(tx, me.user_id, found[username])
    block_rules.check_group_invite(between, username)
    row = await chat.append(tx, record.id, me.user_id, "added", username, found[username], now_ms())
    await chat.add_member(tx, record.id, found[username], row.seq)
    audience = [m.user_id for m in (await chat.members(tx, [record.id]))[record.id]]
    _emit_change(ctx, audience, row, me.username, username)
    return await _view(ctx, record.id)


async def remove_member(ctx: OpContext, args: wire.GroupMember) -> wire.Conversation:
    chat, me, tx = ctx.services.chat, ctx.identity, ctx.write_tx
    record, _ = await _group(ctx, args.conversation)
    username = args.username.lower()
    rules.check_removal(record.created_by, me.user_id, me.username, username)
    found = await ctx.services.users.ids_of(tx, [username])
    target = await chat.membership(tx, record.id, found[username]) if username in found else None
    if target is None or not target.current:
        raise RoostError(ErrorCode.NOT_FOUND, f"@{username} is not in the group")
    audience = [m.user_id for m in (await chat.members(tx, [record.id]))[record.id]]
    row = await chat.append(
        tx, record.id, me.user_id, "removed", username, target.user_id, now_ms()
    )
    await chat.set_left(tx, record.id, target.user_id, row.seq)
    _emit_change(ctx, audience, row, me.username, username)
    return await _view(ctx, record.id)


async def leave(ctx: OpContext, args: wire.LeaveGroup) -> wire.Conversation:
    chat, me, tx = ctx.services.chat, ctx.identity, ctx.write_tx
    record, _ = await _group(ctx, args.conversation)
    audience = [m.user_id for m in (await chat.members(tx, [record.id]))[record.id]]
    row = await chat.append(tx, record.id, me.user_id, "left", me.username, me.user_id, now_ms())
    await chat.set_left(tx, record.id, me.user_id, row.seq)
    _emit_change(ctx, audience, row, me.username, me.username)
    return await _view(ctx, record.id)


def _emit_change(
    ctx: OpContext, audience: list[int], row: NewMessage, sender: str, member: str | None
) -> None:
    ctx.emit(audience, "chat.message", wire_new_message(row, sender, member))


# ----------------------------------------------------------------------------- ephemeral
async def typing(ctx: OpContext, args: wire.SetTyping) -> Empty:
    me = ctx.identity
    conversation_id = int(args.conversation)
    await _membership(ctx, conversation_id)
    members = (await ctx.services.chat.members(ctx.conn, [conversation_id]))[conversation_id]
    others = [m.user_id for m in members if m.user_id != me.user_id]
    record = await ctx.services.chat.conversation(ctx.conn, conversation_id)
    if record is not None and record.kind == DIRECT:  # no typing past a block
        hiders = await ctx.services.social.blocks.blockers_of(ctx.conn, me.user_id, others)
        others = [o for o in others if o not in hiders]
    event = wire.Typing(args.conversation, me.username, args.typing, wire.TYPING_SECONDS)
    ctx.emit(others, "chat.typing", event)
    return Empty()


async def presence(ctx: OpContext, args: Empty) -> wire.PresenceList:
    services = ctx.services
    audience = await services.presence.audience(ctx.identity.user_id)
    unseen = await services.presence.unseen(ctx.identity.user_id, audience)
    names = await services.users.names_of(ctx.conn, audience)
    return wire.PresenceList(
        [
            wire.Presence(name, uid not in unseen and services.presence.is_online(uid))
            for uid, name in sorted(names.items(), key=lambda item: item[1])
        ]
    )


HANDLERS: dict[str, Handler] = {
    "chat.send": send,
    "chat.group.create": create_group,
    "chat.group.add": add_member,
    "chat.group.remove": remove_member,
    "chat.group.leave": leave,
    "chat.list": list_conversations,
    "chat.history": history,
    "chat.read": mark_read,
    "chat.delivered": delivered,
    "chat.catch_up": catch_up,
    "chat.sync": catch_up,  # the old name
    "chat.typing": typing,
    "presence.get": presence,
}
