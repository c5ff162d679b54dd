"""Frames a connection is given in one turn of the event loop go to its socket in one write,
in order; past the direct-write budget the rest queue behind them, still in order. An event
fanned out is put in its WebSocket framing once for all its connections."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from websockets.frames import Frame, Opcode

from protocol.envelope import encode_event
from server.session import DIRECT_WRITE_BYTES, Session, wire_frame
from tests.conftest import LiveServer
from tests.helpers import SECOND


def _session_of(live: LiveServer, user: str) -> Session:
    user_id = int(user)
    (session,) = [s for s in live.server._sessions if s.identity and s.identity.user_id == user_id]
    return session


def _count_writes(session: Session) -> list[int]:
    """Wrap the server-side transport's write; returns the list of written sizes."""
    transport: Any = session.ws.transport
    sizes: list[int] = []
    write: Callable[[bytes], None] = transport.write

    def counting(data: bytes) -> None:
        sizes.append(len(data))
        write(data)

    transport.write = counting
    return sizes


async def _events(conn: Any, n: int) -> list[int]:
    got = []
    for _ in range(n):
        event = await asyncio.wait_for(conn.events.get(), 10 * SECOND)
        assert event.event == "test.n"
        got.append(msgspec.json.decode(event.data)[0])
    return got


async def test_frames_of_one_turn_share_one_write(live: LiveServer) -> None:
    bob_session = await live.register("bob")
    bob = await live.connect(bob_session.token)
    assert (await bob.call("auth.whoami")).username == "bob"
    session = _session_of(live, bob_session.user_id)
    uid = session.user_id
    writes = _count_writes(session)

    for i in range(50):  # one turn: nothing awaits between these
        live.server.hub.publish([uid], encode_event("test.n", [i, ""]))

    assert await _events(bob, 50) == list(range(50))
    assert len(writes) == 1, writes
    await bob.close()


async def test_a_turn_past_the_write_budget_queues_the_rest_in_order(live: LiveServer) -> None:
    bob_session = await live.register("bob")
    bob = await live.connect(bob_session.token)
    assert (await bob.call("auth.whoami")).username == "bob"
    session = _session_of(live, bob_session.user_id)
    uid = session.user_id
    writes = _count_writes(session)

    padding = "x" * 1000
    for i in range(300):  # ~300 KB in one turn: past the direct-write budget
        live.server.hub.publish([uid], encode_event("test.n", [i, padding]))
    assert 300 * 1000 > 2 * DIRECT_WRITE_BYTES

    assert await _events(bob, 300) == list(range(300))
    assert 1 < len(writes) < 300, len(writes)  # the first batch at once, the rest via the queue
    assert session.queued == 0
    await bob.close()


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 300_000])
@pytest.mark.parametrize("first", [b"{", b"R"])
def test_a_frame_is_framed_as_websockets_frames_it(size: int, first: bytes) -> None:
    payload = (first + b"x" * size)[: max(size, 1)]
    opcode = Opcode.TEXT if first == b"{" else Opcode.BINARY
    assert wire_frame(payload) == Frame(opcode, payload).serialize(mask=False)


async def test_an_event_fanned_out_is_framed_once_for_every_connection(live: LiveServer) -> None:
    session = await live.register("bob")
    devices = [await live.connect(session.token)]
    for n in range(2):
        devices.append(await live.connect((await live.login("bob", device=f"d{n}")).token))
    for device in devices:
        assert (await device.call("auth.whoami")).username == "bob"
    sessions = [s for s in live.server._sessions if s.identity]
    assert len(sessions) == 3

    event = encode_event("test.n", [1, "fan-out"])
    live.server.hub.publish([sessions[0].user_id], event)
    batches = [s._batch for s in sessions]  # this turn's frames, not yet written
    assert all(b is not None and len(b) == 1 for b in batches)
    frames = [b[0] for b in batches if b is not None]
    assert frames[0] == Frame(Opcode.TEXT, event).serialize(mask=False)  # framed already
    assert frames[0] is frames[1] is frames[2]  # once, the same bytes for all three
    for device in devices:
        assert await _events(device, 1) == [1]
        await device.close()
