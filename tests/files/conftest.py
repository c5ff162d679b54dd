"""Two devices of one user (laptop and desktop), each with its own home and workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.files.helpers import Device, device


@pytest.fixture
async def pair(live: LiveServer, tmp_path: Path) -> AsyncIterator[tuple[Device, Device]]:
    a = await device(live, tmp_path, "alice", "laptop", register=True)
    b = await device(live, tmp_path, "alice", "desktop")
    yield a, b
    await a.client.close()
    await b.client.close()
