"""`client.events()`: every server push as its own typed struct, after the client kept what it
keeps of it; the link's state while staying connected. Decoding without sockets, then live
through a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from client.backoff import Backoff
from client.core import RoostClient
from client.event_bus import EventStream
from client.events import (
    SERVER_EVENTS,
    ClientEvent,
    FollowChanged,
    LinkChanged,
    NewMessage,
    NewNotification,
    NewPost,
    PostDeleted,
    ReceiptChanged,
    decode_server_event,
)
from protocol import chat, social
from protocol.envelope import Event
from protocol.ops import EVENTS
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, SECOND


def event(name: str, data: object) -> Event:
    return Event(name, msgspec.Raw(msgspec.json.encode(data)))


async def next_of(
    stream: EventStream, kind: type[ClientEvent], seconds: float = 5.0
) -> ClientEvent:
    """The next event of one kind (others on the way are skipped)."""
    async with asyncio.timeout(seconds * SECOND):
        async for e in stream:
            if isinstance(e, kind):
                return e
    raise AssertionError(f"the stream ended before a {kind.__name__}")


# ------------------------------------------------------------------ decoding
def test_every_event_the_protocol_names_has_a_typed_struct() -> None:
    assert set(SERVER_EVENTS) == set(EVENTS)


def test_a_push_becomes_its_typed_struct() -> None:
    post = social.Post("1", "alice", "hi", datetime(2026, 1, 1, tzinfo=UTC))
    assert decode_server_event(event("post.created", post)) == NewPost(post)
    assert decode_server_event(event("post.deleted", social.Deleted("9"))) == PostDeleted("9")
    message = chat.Message("5", 3, "bob", "yo", datetime(2026, 1, 1, tzinfo=UTC))
    decoded = decode_server_event(event("chat.message", message))
    assert isinstance(decoded, NewMessage) and decoded.message == message


def test_an_unknown_event_or_one_it_cannot_read_is_skipped() -> None:
    assert decode_server_event(event("poll.closed", {"id": "1"})) is None
    assert decode_server_event(event("post.deleted", {"post": 1})) is None


@given(name=st.sampled_from(sorted(EVENTS)), data=st.binary(max_size=200))
def test_no_push_makes_the_decoder_raise(name: str, data: bytes) -> None:
    decoded = decode_server_event(Event(name, msgspec.Raw(data)))
    assert decoded is None or isinstance(decoded, ClientEvent)


# ------------------------------------------------------------------ live
async def signed_in(client: RoostClient, url: str, name: str) -> RoostClient:
    await client.__aenter__()
    await client.register(url, name, PASSWORD, "laptop")
    return client


async def test_posts_messages_and_receipts_arrive_typed_and_already_kept(
    live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    alice = await signed_in(client_home("alice"), live.url, "alice")
    bob = await signed_in(client_home("bob"), live.url, "bob")
    try:
        await alice.social.follow("bob")
        stream = alice.events()
        await alice.connect()

        await bob.social.post("hello @alice")
        got = await next_of(stream, NewPost)
        assert isinstance(got, NewPost) and got.post.text == "hello @alice"
        note = await next_of(stream, NewNotification)
        assert isinstance(note, NewNotification) and note.notification.kind == "mention"

        sent = await bob.chat.send("@alice", "lunch?")
        assert sent.result is not None
        got = await next_of(stream, NewMessage)
        assert isinstance(got, NewMessage) and got.message.text == "lunch?"
        # Kept before it was handed on: readable from this device's store at once.
        kept, _ = await alice.chat_store.page(got.message.conversation, before=None, limit=5)
        assert [msgspec.json.decode(b, type=chat.Message).text for b in kept] == ["lunch?"]

        # Alice's device acknowledged it on arrival: Bob hears it delivered, then read.
        bob_stream = bob.events()
        delivered = await next_of(bob_stream, ReceiptChanged)
        assert isinstance(delivered, ReceiptChanged)
        assert (delivered.receipt.user, delivered.receipt.delivered_seq) == ("alice", 1)
        assert delivered.receipt.read_seq == 0
        await alice.chat.read("@bob")
        read = await next_of(bob_stream, ReceiptChanged)
        assert isinstance(read, ReceiptChanged)
        assert (read.receipt.user, read.receipt.read_seq) == ("alice", 1)
        # Bob's client kept the receipt before handing it on.
        receipts = await bob.chat.receipts(sent.result.conversation)
        assert any(r.user == "alice" and r.read_seq == 1 for r in receipts)
    finally:
        await alice.close()
        await bob.close()


async def test_a_follow_change_is_announced_and_a_closed_client_ends_its_streams(
    live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    alice = await signed_in(client_home("alice"), live.url, "alice")
    bob = await signed_in(client_home("bob"), live.url, "bob")
    await bob.close()
    stream = alice.events()
    await alice.social.follow("bob")
    got = await next_of(stream, FollowChanged)
    assert isinstance(got, FollowChanged)
    assert got.profile.username == "bob" and got.profile.you_follow
    await alice.close()
    async with asyncio.timeout(2 * SECOND):
        assert [e async for e in stream] == []


async def test_the_link_state_is_an_event_too(
    tmp_path: Path, live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    alice = await signed_in(client_home("alice"), live.url, "alice")
    stream = alice.events()
    staying = asyncio.create_task(alice.stay_connected(backoff=Backoff(base=0.05, cap=0.2)))
    try:
        seen: list[LinkChanged] = []
        async with asyncio.timeout(5 * SECOND):
            async for e in stream:
                if isinstance(e, LinkChanged):
                    seen.append(e)
                    if e.replayed:
                        break
        assert [e.state for e in seen] == ["connecting", "connected", "connected"]
        assert seen[-1].replayed and not seen[1].replayed
    finally:
        await alice.close()
        await staying
