"""A device that stops reading is disconnected; it never slows the server or anyone else."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from client.errors import ConnectionLost
from protocol.envelope import encode_event
from protocol.files import BLOCK, GET, PUT, Codec, decode_block_frame, encode_block_frame
from protocol.profiles import SetProfile
from server.app import RoostServer
from server.config import Limits
from tests.conftest import LiveServer, start_server
from tests.helpers import SECOND


async def _unread_connection(server: RoostServer, token: str) -> ClientConnection:
    """A device with a 4 KiB receive window that reads nothing until told to."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    ws = await connect(
        f"ws://127.0.0.1:{server.port}",
        sock=sock,
        max_queue=None,
        compression=None,
        max_size=None,
        additional_headers={"Authorization": f"Bearer {token}"},
    )
    ws.transport.pause_reading()
    return ws


async def _until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds * SECOND
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.01)


async def test_slow_consumer_is_dropped_and_others_keep_their_pace(tmp_path: Path) -> None:
    server = await start_server(
        tmp_path / "s", Limits(send_queue_frames=20, ops_per_second=10_000, ops_burst=10_000)
    )
    live = LiveServer(server)
    try:
        writer_session = await live.register("alice", device="writer")
        stuck_session = await live.login("alice", device="stuck")
        bystander = await live.connect((await live.register("bob")).token)
        writer = await live.connect(writer_session.token)

        # A device with a tiny receive window that never reads: the server's queue for it fills.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        stuck = await connect(
            live.url,
            sock=sock,
            max_queue=1,
            compression=None,
            additional_headers={"Authorization": f"Bearer {stuck_session.token}"},
        )
        assert server.hub.connection_count() == 3

        started = time.monotonic()
        # Each write pushes a ~700-byte event to the stuck device; once the socket buffers
        # (a few MB on loopback) and then its send queue are full, the server drops it.
        for i in range(20_000):
            await writer.call("profile.set", SetProfile(bio=f"{i:04d}" + "x" * 490))
            if server.hub.connection_count() == 2:
                break
        assert server.hub.connection_count() == 2, "the stuck device should have been dropped"
        assert time.monotonic() - started < 60 * SECOND
        # Everyone else still gets prompt answers.
        assert (await bystander.call("auth.whoami")).username == "bob"
        assert (await writer.call("profile.get")).bio.startswith(f"{i:04d}")
        await asyncio.gather(writer.close(), bystander.close())
        stuck.transport.abort()
    finally:
        await server.stop()


async def test_a_device_with_more_event_bytes_waiting_than_its_budget_is_cut_off(
    tmp_path: Path,
) -> None:
    """Large events reach the byte budget long before the frame limit: the stuck device is cut
    off at once (no closing handshake to wait for), and a bystander is answered throughout."""
    server = await start_server(tmp_path / "s", Limits(send_queue_bytes=256 << 10))
    live = LiveServer(server)
    try:
        alice = await live.register("alice")
        bystander = await live.connect((await live.register("bob")).token)
        stuck = await _unread_connection(server, alice.token)
        await _until(lambda: server.hub.connection_count() == 2)

        event = encode_event("test.big", ["x" * 60_000])
        published = 0
        while server.hub.connection_count() == 2:
            assert published < 500, "the stuck device should have been dropped"
            server.hub.publish([int(alice.user_id)], event)
            published += 1
            await asyncio.sleep(0)  # the socket takes what it can
            if published % 20 == 0:
                assert (await bystander.call("auth.whoami")).username == "bob"
        assert published < server.config.limits.send_queue_frames  # the bytes decided
        assert server.metrics.dropped._value.get() == 1
        # Nothing is kept for it: its connection is gone, not waiting out a close handshake
        # behind megabytes that it will never read.
        await _until(lambda: len(server._sessions) == 1, 5)
        assert (await bystander.call("auth.whoami")).username == "bob"
        await bystander.close()
        stuck.transport.abort()
    finally:
        await server.stop()


async def test_replies_a_client_asked_for_do_not_count_against_the_event_budget(
    tmp_path: Path,
) -> None:
    """A download may be far more bytes than the event budget: a client that asks for many
    blocks and reads them later gets every one, and is not disconnected."""
    server = await start_server(tmp_path / "s", Limits(send_queue_bytes=64 << 10))
    live = LiveServer(server)
    try:
        alice = await live.register("alice")
        block = os.urandom(600_000)  # incompressible: 600 KB on the wire each time
        digest = hashlib.sha256(block).digest()
        async with connect(
            live.url,
            compression=None,
            max_size=None,
            additional_headers={"Authorization": f"Bearer {alice.token}"},
        ) as uploader:
            await uploader.send(encode_block_frame(PUT, 1, digest, Codec.RAW, block))
            assert json.loads(await uploader.recv())["ok"] is True

        reader = await _unread_connection(server, alice.token)
        for rid in range(1, 21):  # 12 MB of replies, read only once all were asked for
            await reader.send(encode_block_frame(GET, rid, digest))
        queued = lambda: sum(s.queued for s in server._sessions)  # noqa: E731
        await _until(lambda: queued() >= 5)  # megabytes wait in the queue, past the budget
        reader.transport.resume_reading()
        got = []
        for _ in range(20):
            frame = decode_block_frame(await asyncio.wait_for(reader.recv(), 10 * SECOND))
            assert frame.magic == BLOCK and bytes(frame.payload) == block
            got.append(frame.request_id)
        assert sorted(got) == list(range(1, 21))
        assert server.metrics.dropped._value.get() == 0
        await reader.close()
    finally:
        await server.stop()


async def test_graceful_shutdown_finishes_in_flight_ops(tmp_path: Path) -> None:
    server = await start_server(tmp_path / "s")
    live = LiveServer(server)
    await live.register("carol")
    conn = await live.connect(None)
    from protocol.accounts import Credentials

    # A login takes a while (argon2id); stop the server while it is running.
    login = asyncio.create_task(
        conn.call("auth.login", Credentials(username="carol", password="correct horse battery"))
    )
    await asyncio.sleep(0.02)
    await server.stop()
    session = await login
    assert session.username == "carol"  # finished and answered, not cut off
    await asyncio.wait_for(conn.wait_closed(), 5 * SECOND)
    assert conn.close_reason is not None and conn.close_reason.startswith("1001")
    try:
        await conn.call("auth.whoami")
    except ConnectionLost:
        pass
    # The database was closed cleanly: a new server opens it and the login's device is there.
    again = await start_server(tmp_path / "s")
    try:
        fresh = await LiveServer(again).connect(session.token)
        assert (await fresh.call("auth.whoami")).device_id == session.device_id
        await fresh.close()
    finally:
        await again.stop()
