"""Two devices of one user (laptop and desktop), or two people with a device each; each device
with its own home and workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.files.helpers import Device, Watcher, device
from tests.helpers import Home


@pytest.fixture
async def pair(live: LiveServer, tmp_path: Path) -> AsyncIterator[tuple[Device, Device]]:
    a = await device(live, tmp_path, "alice", "laptop", register=True)
    b = await device(live, tmp_path, "alice", "desktop")
    yield a, b
    await a.client.close()
    await b.client.close()


@pytest.fixture
async def alice_and_bob(live: LiveServer, tmp_path: Path) -> AsyncIterator[tuple[Device, Device]]:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    bob = await device(live, tmp_path, "bob", "b1", register=True)
    yield alice, bob
    await alice.client.close()
    await bob.client.close()


@pytest.fixture
async def watch() -> AsyncIterator[Callable[[Home, Path], Awaitable[Watcher]]]:
    """watch(home, ws): `roost sync ws` running for the test, killed at its end."""
    started: list[Watcher] = []

    async def start(home: Home, ws: Path) -> Watcher:
        started.append(await Watcher.start(home, ws))
        return started[-1]

    yield start
    for w in started:
        await w.kill()
