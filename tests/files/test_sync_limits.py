"""A sync within the server's limits: a pass larger than the server lets wait for a commit
commits as it goes, so many files and a big one all arrive; a file that could never fit is
reported, not sent."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.config import Limits
from tests.conftest import LiveServer, start_server
from tests.files.helpers import Device, device

CAP = 8 << 20  # what may wait for a commit: groups of 2 MiB, blocks sent ahead up to 2 MiB


@pytest.fixture
async def tight(tmp_path: Path, database_url: str | None) -> AsyncIterator[tuple[Device, Device]]:
    server = await start_server(
        tmp_path / "s", Limits(max_uncommitted_bytes=CAP), database_url=database_url
    )
    live = LiveServer(server)
    laptop = await device(live, tmp_path, "alice", "laptop", register=True)
    desktop = await device(live, tmp_path, "alice", "desktop")
    try:
        yield laptop, desktop
    finally:
        await laptop.client.close()
        await desktop.client.close()
        await server.stop()


async def test_a_pass_larger_than_may_wait_for_a_commit_commits_as_it_goes(
    tight: tuple[Device, Device],
) -> None:
    laptop, desktop = tight
    small = {f"photos/{i:03}.jpg": os.urandom(200 << 10) for i in range(60)}  # 11.7 MiB
    big = os.urandom(7 << 20)  # most of the cap: it goes last, alone
    for rel, data in small.items():
        laptop.write(rel, data)
    laptop.write("video.mp4", big)
    laptop.write("too-big.iso", os.urandom(CAP + 1))

    report = await laptop.sync()
    assert sorted(report.uploaded) == sorted([*small, "photos", "video.mp4"])
    assert report.refused == [
        ("too-big.iso", "too-big.iso is 8.0 MiB; this server takes at most 8.0 MiB of uploads"
         " before their commit"),
    ]  # fmt: skip
    usage = await laptop.client.call("account.usage")
    assert usage.uncommitted_bytes == 0 and usage.used_bytes == sum(map(len, small.values())) + (
        7 << 20
    )
    await desktop.sync()
    assert desktop.read("video.mp4") == big
    assert all(desktop.read(rel) == data for rel, data in small.items())
