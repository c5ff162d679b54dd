"""The client core stays connected across a server restart and replays its outbox on reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from client.backoff import Backoff
from client.connection import State
from client.core import RoostClient
from client.errors import ServerError
from protocol.profiles import GetProfile, SetProfile
from server.app import RoostServer
from server.config import ServerConfig
from tests.helpers import PASSWORD, SECOND


async def serve_on(data: Path, port: int = 0) -> RoostServer:
    server = RoostServer(
        ServerConfig(registration="open", data_dir=data, port=port, shutdown_grace=2.0)
    )
    await server.start()
    return server


async def test_reconnects_with_backoff_and_replays_in_order(
    tmp_path: Path, client_home: Callable[[str], RoostClient]
) -> None:
    server = await serve_on(tmp_path / "s")
    url = f"ws://127.0.0.1:{server.port}"
    states: list[State] = []
    connected = asyncio.Event()

    def on_state(state: State, delay: float) -> None:
        states.append(state)
        if state is State.RECONNECTING:
            assert 0 <= delay <= 30
        if state is State.CONNECTED:
            connected.set()

    async with client_home("alice") as alice:
        await alice.register(url, "alice", PASSWORD, "laptop")
        loop = asyncio.create_task(alice.stay_connected(on_state))
        await asyncio.wait_for(connected.wait(), 5 * SECOND)

        port = server.port
        await server.stop()
        connected.clear()
        # While the server is down, writes queue in order.
        for bio in ("one", "two", "three"):
            written = await alice.write("profile.set", SetProfile(bio=bio))
            assert written.queued
        assert await alice.outbox.count() == 3

        server = await serve_on(tmp_path / "s", port)
        await asyncio.wait_for(connected.wait(), 20 * SECOND)
        async with asyncio.timeout(10 * SECOND):
            while await alice.outbox.count():
                await asyncio.sleep(0.05)
        assert alice.last_replay is not None
        assert [msgspec.json.decode(e.args)["bio"] for e in alice.last_replay.sent] == [
            "one",
            "two",
            "three",
        ]
        profile = await alice.call("profile.get", GetProfile())
        assert profile.bio == "three"  # replayed in the order written
        assert State.RECONNECTING in states
        await alice.close()
        await asyncio.wait_for(loop, 5 * SECOND)
    await server.stop()


async def test_reconnect_gives_up_on_a_revoked_token(
    tmp_path: Path, client_home: Callable[[str], RoostClient]
) -> None:
    from client.errors import AuthRejected
    from protocol.accounts import RevokeDevice

    server = await serve_on(tmp_path / "s")
    url = f"ws://127.0.0.1:{server.port}"
    async with client_home("a") as a, client_home("b") as b:
        await a.register(url, "bob", PASSWORD, "desk")
        phone = await b.login(url, "bob", PASSWORD, "phone")
        loop = asyncio.create_task(b.stay_connected())
        await a.call("devices.revoke", RevokeDevice(device_id=phone.device_id))
        with pytest.raises(AuthRejected):
            await asyncio.wait_for(loop, 20 * SECOND)
    await server.stop()


def test_backoff_grows_exponentially_with_jitter_and_resets() -> None:
    import random

    backoff = Backoff(base=0.5, cap=8.0, rng=random.Random(7))
    ceilings = [0.5, 1, 2, 4, 8, 8, 8]
    delays = [backoff.next_delay() for _ in ceilings]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule
    backoff.reset()
    assert backoff.next_delay() <= 0.5


async def test_server_error_is_not_queued(
    tmp_path: Path, client_home: Callable[[str], RoostClient]
) -> None:
    """Only unreachability queues a write; a refusal is reported at once and nothing is kept."""
    server = await serve_on(tmp_path / "s")
    async with client_home("c") as c:
        await c.register(f"ws://127.0.0.1:{server.port}", "carol", PASSWORD, "desk")
        with pytest.raises(ServerError):
            await c.write("profile.set", SetProfile(display_name="bad\x07name"))
        assert await c.outbox.count() == 0
    await server.stop()
