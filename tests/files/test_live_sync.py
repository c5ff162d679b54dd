"""Live sync: watchfiles and server events drive passes without anyone asking."""

from __future__ import annotations

import asyncio
from pathlib import Path

from client.files import RemoteFiles
from client.sync.watch import run_forever
from tests.conftest import LiveServer
from tests.files.helpers import device
from tests.helpers import SECOND


async def eventually(check, what: str) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(20 * SECOND):
        while not await check():
            await asyncio.sleep(0.05)


async def test_local_and_remote_changes_flow_while_running(
    live: LiveServer, tmp_path: Path
) -> None:
    a = await device(live, tmp_path, "alice", "laptop", register=True)
    b = await device(live, tmp_path, "alice", "desktop")
    stop = asyncio.Event()
    running = asyncio.create_task(run_forever(b.engine, stop))
    try:
        a.write("from-a.txt", "pushed by an event")
        await a.sync()

        async def b_has_it() -> bool:
            return (b.root / "from-a.txt").exists()

        await eventually(b_has_it, "remote change reaches the running device")
        assert b.read("from-a.txt") == b"pushed by an event"

        b.write("from-b.txt", "seen by the watcher")

        async def server_has_it() -> bool:
            rows = await RemoteFiles(a.client).ls()
            return any(r.shown == "from-b.txt" for r in rows)

        await eventually(server_has_it, "local change is uploaded by the watcher")
    finally:
        stop.set()
        await asyncio.wait_for(running, 10 * SECOND)
        await a.client.close()
        await b.client.close()
