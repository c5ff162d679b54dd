"""A device that stops reading is disconnected; it never slows the server or anyone else."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from websockets.asyncio.client import connect

from client.errors import ConnectionLost
from protocol.profiles import SetProfile
from server.config import Limits
from tests.conftest import LiveServer, start_server
from tests.helpers import SECOND


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
