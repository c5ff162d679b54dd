"""What crosses processes: people connected to different `roost serve` processes of one cluster
(one PostgreSQL, one Redis) see each other's posts, follows, chat, receipts, typing and
presence live; a revoked device or a disabled account is closed wherever it is connected; and
a read through one process right after a write's ack through another shows the write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
import pytest_asyncio

from client.connection import Connection
from client.errors import AccountDisabled, AuthRejected
from protocol import accounts
from protocol import admin as admin_wire
from protocol import chat as chat_wire
from protocol import profiles as profiles_wire
from protocol import social as social_wire
from tests.cluster.cluster import (
    CLUSTER_LOOP,
    PRESENCE_DELAY,
    Cluster,
    closed,
    refused_start,
    running_cluster,
)
from tests.helpers import NO_RATE_LIMIT, SECOND
from tests.server.chat_fixtures import message, next_event, quiet, receipt

pytestmark = CLUSTER_LOOP

A, B, C = 0, 1, 2  # the cluster's three processes
# Authors with more followers than this are merged into timelines at read time (the hybrid
# fan-out's other half); the other tests' authors have one follower at most.
CELEBRITY_ABOVE = 1


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    async with running_cluster(
        request.config, tmp_path_factory.mktemp("cluster"), *NO_RATE_LIMIT,
        "--celebrity-threshold", str(CELEBRITY_ABOVE),
    ) as running:  # fmt: skip
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def connections() -> AsyncIterator[list[Connection]]:
    """Connections a test opened, closed after it (the cluster outlives the test)."""
    opened: list[Connection] = []
    yield opened
    for conn in opened:
        await conn.close()


async def person(
    cluster: Cluster, connections: list[Connection], node: int, name: str
) -> tuple[Connection, accounts.DeviceSession]:
    """A new account registered through process `node`, connected to it."""
    session = await cluster.register(node, name)
    conn = await cluster.connect(node, session.token)
    connections.append(conn)
    return conn, session


def post_of(event_data: bytes) -> social_wire.Post:
    return msgspec.json.decode(event_data, type=social_wire.Post)


async def test_a_post_a_follow_and_a_profile_change_reach_devices_on_other_processes_live(
    cluster: Cluster, connections: list[Connection]
) -> None:
    ann, _ = await person(cluster, connections, A, "post_ann")
    ben, _ = await person(cluster, connections, B, "post_ben")
    ben_tablet = await cluster.connect(C, (await cluster.login(C, "post_ben", "tablet")).token)
    connections.append(ben_tablet)

    await ben.call("follow.add", social_wire.UserRef(username="post_ann"))
    followed = await next_event(ann, "notification.new")  # through B, to A
    note = msgspec.json.decode(followed.data, type=social_wire.Notification)
    assert (note.kind, note.actor) == ("follow", "post_ben")

    post = await ann.call("post.create", social_wire.CreatePost(text="hello from A"))
    for device in (ben, ben_tablet):  # on B and on C
        assert post_of((await next_event(device, "post.created")).data).id == post.id
    home = await ben.call("timeline.home", social_wire.HomeTimeline())
    assert [p.id for p in home.posts] == [post.id]

    await ann.call("post.delete", social_wire.PostRef(post_id=post.id))
    gone = await next_event(ben, "post.deleted")
    assert msgspec.json.decode(gone.data, type=social_wire.Deleted).post_id == post.id
    assert (await ben.call("timeline.home", social_wire.HomeTimeline())).posts == []

    await ben.call("profile.set", profiles_wire.SetProfile(bio="now on B"))
    changed = (await next_event(ben_tablet, "profile.updated")).data  # ben's device on C
    assert msgspec.json.decode(changed, type=profiles_wire.Profile).bio == "now on B"


async def test_chat_messages_receipts_and_typing_reach_other_processes_live(
    cluster: Cluster, connections: list[Connection]
) -> None:
    ann, _ = await person(cluster, connections, A, "chat_ann")
    ben, _ = await person(cluster, connections, B, "chat_ben")
    ben_phone = await cluster.connect(C, (await cluster.login(C, "chat_ben", "phone")).token)
    connections.append(ben_phone)

    sent = await ann.call("chat.send", chat_wire.SendMessage(to="@chat_ben", text="hi from A"))
    for device in (ben, ben_phone):
        got = message(await next_event(device, "chat.message"))
        assert (got.conversation, got.seq, got.sender, got.text) == (
            sent.conversation, sent.seq, "chat_ann", "hi from A",
        )  # fmt: skip

    await ben.call("chat.read", chat_wire.MarkRead(to="@chat_ann"))
    for device in (ann, ben_phone):  # the sender on A, the reader's other device on C
        seen = receipt(await next_event(device, "chat.receipt"))
        assert (seen.user, seen.conversation, seen.read_seq) == (
            "chat_ben", sent.conversation, sent.seq,
        )  # fmt: skip

    await ann.call("chat.typing", chat_wire.SetTyping(conversation=sent.conversation))
    for device in (ben, ben_phone):
        typing = msgspec.json.decode(
            (await next_event(device, "chat.typing")).data, type=chat_wire.Typing
        )
        assert (typing.user, typing.typing, typing.conversation) == (
            "chat_ann", True, sent.conversation,
        )  # fmt: skip
    assert await quiet(ann, "chat.typing") == []  # not echoed to the typist


def presence(event_data: bytes) -> chat_wire.Presence:
    return msgspec.json.decode(event_data, type=chat_wire.Presence)


async def test_someone_connected_to_two_processes_stays_online_until_their_last_device_leaves(
    cluster: Cluster, connections: list[Connection]
) -> None:
    ann, _ = await person(cluster, connections, A, "here_ann")
    cy = await cluster.register(B, "here_cy")
    await ann.call("chat.send", chat_wire.SendMessage(to="@here_cy", text="are you there?"))

    cy_on_b = await cluster.connect(B, cy.token)
    cy_on_c = await cluster.connect(C, cy.token)
    connections += [cy_on_b, cy_on_c]
    online = presence((await next_event(ann, "presence.changed")).data)
    assert (online.user, online.online) == ("here_cy", True)
    pulled = await ann.call("presence.get")
    assert [(p.user, p.online) for p in pulled.users] == [("here_cy", True)]
    cy_sees = await cy_on_c.call("presence.get")  # A's connection counts on C too
    assert [(p.user, p.online) for p in cy_sees.users] == [("here_ann", True)]

    await cy_on_b.close()
    # Long enough for a wrong "offline" to be announced (the debounce is PRESENCE_DELAY).
    await asyncio.sleep(4 * PRESENCE_DELAY * SECOND)
    assert await quiet(ann, "presence.changed") == []
    pulled = await ann.call("presence.get")
    assert [(p.user, p.online) for p in pulled.users] == [("here_cy", True)]

    await cy_on_c.close()
    offline = presence((await next_event(ann, "presence.changed")).data)
    assert (offline.user, offline.online) == ("here_cy", False)
    pulled = await ann.call("presence.get")
    assert [(p.user, p.online) for p in pulled.users] == [("here_cy", False)]


async def test_a_device_revoked_through_one_process_is_closed_on_every_other(
    cluster: Cluster, connections: list[Connection]
) -> None:
    dan, _ = await person(cluster, connections, A, "revoke_dan")
    phone = await cluster.login(B, "revoke_dan", "phone")
    on_c = await cluster.connect(C, phone.token)
    on_b = await cluster.connect(B, phone.token)
    connections += [on_b, on_c]

    await dan.call("devices.revoke", accounts.RevokeDevice(device_id=phone.device_id))
    for conn in (on_b, on_c):
        assert (await closed(conn, seconds=2)).startswith("4001")
    with pytest.raises(AuthRejected):
        await cluster.connect(C, phone.token)
    assert (await dan.call("auth.whoami")).username == "revoke_dan"  # the revoker stays


async def test_a_disabled_account_is_closed_on_every_process_at_once(
    cluster: Cluster, connections: list[Connection]
) -> None:
    eve = await cluster.register(B, "disable_eve")
    eve_conns = [await cluster.connect(node, eve.token) for node in (A, B, C)]
    connections += eve_conns
    admin = await cluster.connect(A, cluster.admin.token)
    connections.append(admin)

    await admin.call("admin.users.disable", admin_wire.AccountRef(username="disable_eve"))
    for conn in eve_conns:
        assert (await closed(conn, seconds=2)).startswith("4003")
    with pytest.raises(AccountDisabled):
        await cluster.connect(C, eve.token)

    await admin.call("admin.users.enable", admin_wire.AccountRef(username="disable_eve"))
    again = await cluster.connect(C, eve.token)  # the token works again, on any process
    connections.append(again)
    assert (await again.call("auth.whoami")).username == "disable_eve"


async def test_a_like_through_one_process_shows_in_a_read_through_another_right_after_its_ack(
    cluster: Cluster, connections: list[Connection]
) -> None:
    fay, _ = await person(cluster, connections, A, "cache_fay")
    gus, _ = await person(cluster, connections, B, "cache_gus")
    hal, _ = await person(cluster, connections, A, "cache_hal")
    post = await fay.call("post.create", social_wire.CreatePost(text="like me"))
    thread = social_wire.GetThread(post_id=post.id)
    assert (await gus.call("post.thread", thread)).post.like_count == 0  # now cached on B

    await hal.call("post.like", social_wire.PostRef(post_id=post.id))
    assert (await gus.call("post.thread", thread)).post.like_count == 1
    await hal.call("post.unlike", social_wire.PostRef(post_id=post.id))
    assert (await gus.call("post.thread", thread)).post.like_count == 0

    reply = await fay.call("post.create", social_wire.CreatePost(text="re", reply_to=post.id))
    read = await gus.call("post.thread", thread)
    assert (read.post.reply_count, [r.id for r in read.replies]) == (1, [reply.id])


async def test_a_home_timeline_read_through_another_process_shows_a_post_right_after_its_ack(
    cluster: Cluster, connections: list[Connection]
) -> None:
    ivy, _ = await person(cluster, connections, B, "heads_ivy")
    jay, _ = await person(cluster, connections, A, "heads_jay")
    await ivy.call("follow.add", social_wire.UserRef(username="heads_jay"))
    first = await jay.call("post.create", social_wire.CreatePost(text="one"))
    home = social_wire.HomeTimeline()
    assert [p.id for p in (await ivy.call("timeline.home", home)).posts] == [first.id]

    for n in range(3):  # each read through B right after an ack through A
        post = await jay.call("post.create", social_wire.CreatePost(text=f"more {n}"))
        assert (await ivy.call("timeline.home", home)).posts[0].id == post.id


async def test_a_celebritys_posts_and_a_new_follow_show_through_other_processes(
    cluster: Cluster, connections: list[Connection]
) -> None:
    cel, _ = await person(cluster, connections, A, "star_cel")
    fans = [(await person(cluster, connections, node, f"star_fan{node}"))[0] for node in (B, C)]
    for fan in fans:
        await fan.call("follow.add", social_wire.UserRef(username="star_cel"))
    post = await cel.call("post.create", social_wire.CreatePost(text="not fanned out"))
    home = social_wire.HomeTimeline()
    for fan in fans:  # told live, and merged into their timelines when read
        assert post_of((await next_event(fan, "post.created")).data).id == post.id
        assert [p.id for p in (await fan.call("timeline.home", home)).posts] == [post.id]

    # A newcomer's timeline, read (and so cached) through B, then a follow through A.
    kit_on_b, _ = await person(cluster, connections, B, "star_kit")
    kit_on_a = await cluster.connect(A, (await cluster.login(A, "star_kit", "laptop")).token)
    connections.append(kit_on_a)
    assert (await kit_on_b.call("timeline.home", home)).posts == []
    await kit_on_a.call("follow.add", social_wire.UserRef(username="star_cel"))
    assert [p.id for p in (await kit_on_b.call("timeline.home", home)).posts] == [post.id]
    await kit_on_a.call("follow.remove", social_wire.UserRef(username="star_cel"))
    assert (await kit_on_b.call("timeline.home", home)).posts == []


async def test_a_process_without_the_bus_is_refused_on_a_database_the_cluster_serves(
    cluster: Cluster, tmp_path: Path
) -> None:
    """It would serve its own connections and never hear the others' events."""
    code, said = await refused_start(tmp_path / "lone", "--db", cluster.database_url)
    assert code != 0, said
    refusal = said.strip().splitlines()[-1]
    assert refusal.startswith("error: ") and "--bus" in refusal, said
