"""Chat through the real server: several users and devices, direct and group conversations."""

from __future__ import annotations

import asyncio

import pytest

from client.connection import Connection
from client.errors import ServerError
from protocol import chat as wire
from tests.conftest import LiveServer
from tests.server.chat_fixtures import chat_live, message, next_event, quiet, receipt

__all__ = ["chat_live"]


async def users(live: LiveServer, *names: str) -> list[Connection]:
    return [await live.connect((await live.register(n)).token) for n in names]


async def test_direct_message_reaches_the_recipient_and_the_senders_other_devices(
    chat_live: LiveServer,
) -> None:
    laptop_session = await chat_live.register("alice", device="laptop")
    phone_session = await chat_live.login("alice", device="phone")
    laptop = await chat_live.connect(laptop_session.token)
    phone = await chat_live.connect(phone_session.token)
    [bob] = await users(chat_live, "bob")

    sent = await laptop.call("chat.send", wire.SendMessage(to="@Bob", text="hi bob"))
    assert (sent.seq, sent.sender, sent.text) == (1, "alice", "hi bob")
    for device in (bob, phone):
        got = message(await next_event(device, "chat.message"))
        assert (got.conversation, got.seq, got.text) == (sent.conversation, 1, "hi bob")
    assert await quiet(laptop, "chat.message") == []  # the sender got the reply, not an echo

    reply = await bob.call("chat.send", wire.SendMessage(to="@alice", text="hello"))
    assert (reply.conversation, reply.seq) == (sent.conversation, 2)  # one conversation per pair
    page = await phone.call("chat.history", wire.History(to=sent.conversation))
    assert [(m.seq, m.sender, m.text) for m in page.messages] == [
        (1, "alice", "hi bob"),
        (2, "bob", "hello"),
    ]
    with pytest.raises(ServerError) as err:
        await bob.call("chat.send", wire.SendMessage(to="@nobody", text="?"))
    assert err.value.code == "not_found"
    with pytest.raises(ServerError) as err:
        await bob.call("chat.send", wire.SendMessage(to="@bob", text="me"))
    assert err.value.code == "invalid_args"
    await asyncio.gather(*(c.close() for c in (laptop, phone, bob)))


async def test_concurrent_senders_see_one_identical_gap_free_order(chat_live: LiveServer) -> None:
    names = ["ann", "ben", "cat", "dov"]
    sessions = [await chat_live.register(n) for n in names]
    extra = await chat_live.login("ann", device="tablet")
    conns = [await chat_live.connect(s.token) for s in [*sessions, extra]]
    group = await conns[0].call(
        "chat.group.create", wire.CreateGroup(name="team", members=names[1:])
    )
    per_sender = 25

    async def burst(i: int, conn: Connection) -> list[int]:
        return [
            (await conn.call("chat.send", wire.SendMessage(to=group.id, text=f"{i}:{n}"))).seq
            for n in range(per_sender)
        ]

    acked = await asyncio.gather(*(burst(i, c) for i, c in enumerate(conns[:4])))
    for seqs in acked:
        assert seqs == sorted(seqs)  # each sender's own messages keep their order
    total = 1 + 4 * per_sender  # the `created` entry is seq 1
    assert sorted(s for seqs in acked for s in seqs) == list(range(2, total + 1))

    views = []
    for conn in conns:
        page = await conn.call("chat.history", wire.History(to=group.id, limit=500))
        views.append([(m.seq, m.sender, m.text) for m in page.messages])
        # Live events: the ones each device was pushed, in the order pushed.
        live = [message(e) for e in await quiet(conn, "chat.message")]
        seen = [m.seq for m in live]
        assert seen == sorted(seen)
    assert [v[0][0] for v in views] == [1] * len(views)
    assert all(v == views[0] for v in views)
    assert [seq for seq, _, _ in views[0]] == list(range(1, total + 1))
    await asyncio.gather(*(c.close() for c in conns))


async def test_retried_send_returns_the_first_result_and_stores_once(chat_live: LiveServer) -> None:
    alice, bob = await users(chat_live, "alice", "bob")
    args = wire.SendMessage(to="@bob", text="only once", client_id="retry-key-0001")
    first = await alice.call("chat.send", args)
    again = await asyncio.gather(*(alice.call("chat.send", args) for _ in range(3)))
    assert all(m == first for m in again)
    # A second connection of the same user racing with the same key inside one batch.
    other = await chat_live.connect((await chat_live.login("alice")).token)
    racing = wire.SendMessage(to="@bob", text="raced", client_id="retry-key-0002")
    a, b = await asyncio.gather(alice.call("chat.send", racing), other.call("chat.send", racing))
    assert a == b
    page = await bob.call("chat.history", wire.History(to="@alice"))
    assert [m.text for m in page.messages] == ["only once", "raced"]
    with pytest.raises(ServerError) as err:  # the key belongs to chat.send now
        await alice.call("chat.read", wire.MarkRead(to="@bob", client_id="retry-key-0001"))
    assert err.value.code == "conflict"
    await asyncio.gather(*(c.close() for c in (alice, bob, other)))


async def test_a_non_member_cannot_read_send_or_see_a_group(chat_live: LiveServer) -> None:
    ann, ben, eve = await users(chat_live, "ann", "ben", "eve")
    group = await ann.call("chat.group.create", wire.CreateGroup(name="secret", members=["ben"]))
    await ann.call("chat.send", wire.SendMessage(to=group.id, text="for ben only"))
    attempts = [
        ("chat.send", wire.SendMessage(to=group.id, text="let me in")),
        ("chat.history", wire.History(to=group.id)),
        ("chat.read", wire.MarkRead(to=group.id)),
        ("chat.typing", wire.SetTyping(conversation=group.id)),
        ("chat.group.add", wire.GroupMember(conversation=group.id, username="eve")),
        ("chat.group.leave", wire.LeaveGroup(conversation=group.id)),
    ]
    for op, args in attempts:
        with pytest.raises(ServerError) as err:
            await eve.call(op, args)
        assert err.value.code == "not_found", op
    with pytest.raises(ServerError) as err:  # the same answer as a group that does not exist
        await eve.call("chat.history", wire.History(to="12345"))
    assert err.value.code == "not_found"
    assert (await eve.call("chat.list")).conversations == []
    synced = await eve.call("chat.catch_up", wire.CatchUp(cursors=[wire.Cursor(group.id, 0)]))
    assert (synced.conversations, synced.messages, synced.receipts) == ([], [], [])
    await eve.call("chat.delivered", wire.Delivered([wire.Cursor(group.id, 2)]))  # ignored
    assert await quiet(eve, "chat.message") == []
    assert await quiet(ann, "chat.receipt") == []
    page = await ben.call("chat.history", wire.History(to=group.id))
    assert [m.text for m in page.messages] == ["secret", "for ben only"]
    await asyncio.gather(*(c.close() for c in (ann, ben, eve)))


async def test_membership_changes_are_ordered_entries_and_end_access(chat_live: LiveServer) -> None:
    ann, ben, cy = await users(chat_live, "ann", "ben", "cyd")
    group = await ann.call("chat.group.create", wire.CreateGroup(name="club", members=["ben"]))
    await ann.call("chat.send", wire.SendMessage(to=group.id, text="before cy"))
    added = await ben.call(
        "chat.group.add", wire.GroupMember(conversation=group.id, username="cyd")
    )
    assert added.members == ["ann", "ben", "cyd"]
    event = message(await next_event(cy, "chat.message"))
    assert (event.kind, event.member, event.seq) == ("added", "cyd", 3)
    # The new member reads the whole history.
    page = await cy.call("chat.history", wire.History(to=group.id))
    assert [m.kind for m in page.messages] == ["created", "text", "added"]

    with pytest.raises(ServerError) as err:  # only the creator removes
        await ben.call("chat.group.remove", wire.GroupMember(conversation=group.id, username="cyd"))
    assert err.value.code == "forbidden"
    with pytest.raises(ServerError) as err:
        await ann.call("chat.group.add", wire.GroupMember(conversation=group.id, username="cyd"))
    assert err.value.code == "conflict"
    await ann.call("chat.group.remove", wire.GroupMember(conversation=group.id, username="cyd"))
    removed = message(await next_event(cy, "chat.message"))
    assert (removed.kind, removed.member, removed.seq) == ("removed", "cyd", 4)
    await ann.call("chat.send", wire.SendMessage(to=group.id, text="after cy"))
    with pytest.raises(ServerError) as err:
        await cy.call("chat.send", wire.SendMessage(to=group.id, text="still here?"))
    assert err.value.code == "not_found"
    old = await cy.call("chat.history", wire.History(to=group.id))
    assert [m.seq for m in old.messages] == [1, 2, 3, 4]  # up to the removal, nothing after
    assert await quiet(cy, "chat.message") == []
    [listed] = (await cy.call("chat.list")).conversations
    assert (listed.member, listed.last_seq) == (False, 4)

    await quiet(ann, "chat.message")
    left = await ben.call("chat.group.leave", wire.LeaveGroup(conversation=group.id))
    assert left.member is False and left.members == ["ann"]
    gone = message(await next_event(ann, "chat.message"))
    assert (gone.kind, gone.member) == ("left", "ben")
    with pytest.raises(ServerError) as err:  # direct conversations have fixed members
        dm = await ann.call("chat.send", wire.SendMessage(to="@ben", text="hi"))
        await ann.call(
            "chat.group.add", wire.GroupMember(conversation=dm.conversation, username="cyd")
        )
    assert err.value.code == "invalid_args"
    await asyncio.gather(*(c.close() for c in (ann, ben, cy)))


async def test_receipts_reach_the_sender_and_the_readers_devices_only(
    chat_live: LiveServer,
) -> None:
    ann_s = await chat_live.register("ann", device="laptop")
    ann_phone = await chat_live.connect((await chat_live.login("ann", device="phone")).token)
    ann = await chat_live.connect(ann_s.token)
    ben_s = await chat_live.register("ben", device="laptop")
    ben = await chat_live.connect(ben_s.token)
    ben_phone = await chat_live.connect((await chat_live.login("ben", device="phone")).token)
    [cy] = await users(chat_live, "cyd")
    group = await ann.call("chat.group.create", wire.CreateGroup(name="g", members=["ben", "cyd"]))
    sent = await ann.call("chat.send", wire.SendMessage(to=group.id, text="read me"))
    for conn in (ann, ann_phone, ben, ben_phone, cy):
        await quiet(conn, "chat.receipt")

    await ben.call("chat.delivered", wire.Delivered([wire.Cursor(group.id, sent.seq)]))
    got = receipt(await next_event(ann, "chat.receipt"))
    assert (got.user, got.delivered_seq, got.read_seq) == ("ben", sent.seq, 0)
    assert receipt(await next_event(ann_phone, "chat.receipt")) == got
    assert receipt(await next_event(ben_phone, "chat.receipt")) == got
    assert await quiet(cy, "chat.receipt") == []  # cy sent nothing it covers
    assert await quiet(ben, "chat.receipt") == []  # the acking connection has its reply

    mine = await ben.call("chat.read", wire.MarkRead(to=group.id))
    assert (mine.delivered_seq, mine.read_seq) == (sent.seq, sent.seq)
    read = receipt(await next_event(ann, "chat.receipt"))
    assert read.read_seq == sent.seq
    listed = {c.id: c for c in (await ben_phone.call("chat.list")).conversations}
    assert listed[group.id].unread == 0
    assert {c.id: c for c in (await cy.call("chat.list")).conversations}[group.id].unread == 1
    # Acking again moves nothing and tells nobody.
    await ben.call("chat.delivered", wire.Delivered([wire.Cursor(group.id, sent.seq)]))
    assert await quiet(ann, "chat.receipt") == []
    await asyncio.gather(*(c.close() for c in (ann, ann_phone, ben, ben_phone, cy)))


async def test_offline_device_catches_up_on_messages_receipts_and_membership(
    chat_live: LiveServer,
) -> None:
    ann, ben = await users(chat_live, "ann", "ben")
    cyd_session = await chat_live.register("cyd")
    group = await ann.call("chat.group.create", wire.CreateGroup(name="g", members=["ben"]))
    first = await ben.call("chat.catch_up", wire.CatchUp())
    assert [m.kind for m in first.messages] == ["created"]
    cursors = {m.conversation: m.seq for m in first.messages}
    receipts_cursor = first.receipts_cursor
    await ben.close()  # ben's device goes offline

    await ann.call("chat.send", wire.SendMessage(to=group.id, text="one"))
    await ann.call("chat.group.add", wire.GroupMember(conversation=group.id, username="cyd"))
    cy = await chat_live.connect(cyd_session.token)
    await cy.call("chat.send", wire.SendMessage(to=group.id, text="two"))
    await cy.call("chat.read", wire.MarkRead(to=group.id))
    dm = await ann.call("chat.send", wire.SendMessage(to="@ben", text="psst"))

    ben = await chat_live.connect((await chat_live.login("ben")).token)
    caught: list[wire.Message] = []
    receipts: list[wire.Receipt] = []
    for _ in range(10):  # pages of 2, to exercise `more`
        page = await ben.call(
            "chat.catch_up",
            wire.CatchUp(
                cursors=[wire.Cursor(c, s) for c, s in cursors.items()],
                receipts_after=receipts_cursor,
                limit=2,
            ),
        )
        caught += page.messages
        receipts += page.receipts
        receipts_cursor = page.receipts_cursor
        for m in page.messages:
            cursors[m.conversation] = m.seq
        if not page.more:
            break
    assert [
        (m.conversation, m.seq, m.kind, m.text) for m in caught if m.conversation == group.id
    ] == [
        (group.id, 2, "text", "one"),
        (group.id, 3, "added", "cyd"),
        (group.id, 4, "text", "two"),
    ]
    assert [(m.seq, m.text) for m in caught if m.conversation == dm.conversation] == [(1, "psst")]
    assert any(r.user == "cyd" and r.read_seq == 4 for r in receipts)
    assert {c.id for c in page.conversations} == {group.id, dm.conversation}
    again = await ben.call(
        "chat.catch_up",
        wire.CatchUp(
            cursors=[wire.Cursor(c, s) for c, s in cursors.items()], receipts_after=receipts_cursor
        ),
    )
    assert (again.messages, again.receipts, again.more) == ([], [], False)
    await asyncio.gather(*(c.close() for c in (ann, ben, cy)))


async def test_typing_is_pushed_to_the_other_members_only(chat_live: LiveServer) -> None:
    ann, ben, eve = await users(chat_live, "ann", "ben", "eve")
    dm = await ann.call("chat.send", wire.SendMessage(to="@ben", text="hi"))
    await ann.call("chat.typing", wire.SetTyping(conversation=dm.conversation))
    event = await next_event(ben, "chat.typing")
    import msgspec

    typing = msgspec.json.decode(event.data, type=wire.Typing)
    assert (typing.user, typing.typing, typing.conversation) == ("ann", True, dm.conversation)
    assert typing.expires_in > 0
    assert await quiet(eve, "chat.typing") == []
    assert await quiet(ann, "chat.typing") == []
    page = await ben.call("chat.history", wire.History(to="@ann"))
    assert [m.text for m in page.messages] == ["hi"]  # typing is never stored
    await asyncio.gather(*(c.close() for c in (ann, ben, eve)))


async def test_presence_is_debounced_and_seen_by_contacts_only(chat_live: LiveServer) -> None:
    ann_s, ben_s, eve_s = [await chat_live.register(n) for n in ("ann", "ben", "eve")]
    ann = await chat_live.connect(ann_s.token)
    eve = await chat_live.connect(eve_s.token)
    ben = await chat_live.connect(ben_s.token)
    await ben.call("chat.send", wire.SendMessage(to="@ann", text="hi"))
    online = msgspec_presence(await next_event(ann, "presence.changed"))
    assert online == wire.Presence("ben", True)
    pulled = await ann.call("presence.get")
    assert wire.Presence("ben", True) in pulled.users
    assert [p.user for p in pulled.users] == ["ben"]  # eve shares no conversation with ann

    # A second device and a blip of one device announce nothing.
    ben2 = await chat_live.connect((await chat_live.login("ben")).token)
    await ben2.close()
    await ben.close()
    offline = msgspec_presence(await next_event(ann, "presence.changed"))
    assert offline == wire.Presence("ben", False)
    assert await quiet(ann, "presence.changed") == []
    assert await quiet(eve, "presence.changed") == []
    assert (await eve.call("presence.get")).users == []
    await asyncio.gather(ann.close(), eve.close())


def msgspec_presence(event: object) -> wire.Presence:
    import msgspec

    return msgspec.json.decode(event.data, type=wire.Presence)  # type: ignore[attr-defined]


async def test_history_pages_by_seq(chat_live: LiveServer) -> None:
    ann, ben = await users(chat_live, "ann", "ben")
    for n in range(12):
        await ann.call("chat.send", wire.SendMessage(to="@ben", text=f"m{n}"))
    last = await ben.call("chat.history", wire.History(to="@ann", limit=5))
    assert [m.seq for m in last.messages] == [8, 9, 10, 11, 12] and last.more
    older = await ben.call("chat.history", wire.History(to="@ann", limit=5, before=8))
    assert [m.seq for m in older.messages] == [3, 4, 5, 6, 7] and older.more
    oldest = await ben.call("chat.history", wire.History(to="@ann", limit=5, before=3))
    assert [m.seq for m in oldest.messages] == [1, 2] and not oldest.more
    await chat_live.register("cyd")
    none_yet = await ben.call("chat.history", wire.History(to="@cyd", limit=5))
    assert (none_yet.conversation, none_yet.messages, none_yet.more) == (None, [], False)
    await asyncio.gather(ann.close(), ben.close())


async def test_the_old_name_chat_sync_still_catches_up(chat_live: LiveServer) -> None:
    """Clients installed before chat.sync became chat.catch_up keep working."""
    ann, ben = await users(chat_live, "ann", "ben")
    await ann.call("chat.send", wire.SendMessage(to="@ben", text="still there?"))
    old = await ben.call("chat.sync", wire.CatchUp())
    new = await ben.call("chat.catch_up", wire.CatchUp())
    assert [m.text for m in old.messages] == [m.text for m in new.messages] == ["still there?"]
