"""Keepalive: a peer that stops answering pings is disconnected and leaves the hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server.app import RoostServer, keepalive_interval
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.helpers import SECOND


async def test_silent_peer_is_dropped_after_the_ping_timeout(tmp_path: Path) -> None:
    server = RoostServer(
        ServerConfig(
            registration="open",
            data_dir=tmp_path / "s",
            port=0,
            ping_interval=0.2,
            ping_timeout=0.3,
        )
    )
    await server.start()
    live = LiveServer(server)
    try:
        session = await live.register("alice")
        healthy = await live.connect(session.token)
        silent = await live.connect(session.token)
        assert server.hub.connection_count() == 2
        silent._ws.transport.pause_reading()  # type: ignore[union-attr]  # a frozen device

        async with asyncio.timeout(10 * SECOND):
            while server.hub.connection_count() > 1:
                await asyncio.sleep(0.05)
        # The healthy connection answered every ping and is still served.
        await asyncio.sleep(0.6)
        assert (await healthy.call("auth.whoami")).username == "alice"
        assert server.hub.connection_count() == 1
        await healthy.close()
        silent._ws.transport.abort()  # type: ignore[union-attr]
    finally:
        await server.stop()


def test_connections_opened_together_do_not_ping_together() -> None:
    """After a restart every device reconnects at once: their pings must spread out, and no
    dead peer may go unnoticed for longer than the configured interval."""
    intervals = [keepalive_interval(20.0) for _ in range(2000)]
    assert all(10.0 <= i <= 20.0 for i in intervals)
    seconds = {int(i) for i in intervals}
    assert len(seconds) >= 10  # spread over ten different seconds, not one
    assert keepalive_interval(None) is None  # keepalive off stays off
