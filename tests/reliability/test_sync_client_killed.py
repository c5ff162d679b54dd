"""`roost sync` killed with SIGKILL in the middle of an upload (and, on another device, of a
download): the next run converges, sends only the blocks the server did not already hold, and
leaves no temp file behind."""

from __future__ import annotations

import asyncio
import random
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from client.connection import Connection
from client.home import ClientHome
from client.sync.ignore import TEMP_PREFIX
from protocol import files as wire
from storage.content.chunker import chunk_file
from tests.helpers import SECOND, Home, ServerProcess, roost_command

SENT = re.compile(r"sent (\d+) blocks")


def make_workspace(root: Path, rng: random.Random) -> None:
    """About 36 MiB: many one-block files (batched small uploads) and one of many blocks, big
    enough that its upload outlasts the batches and its download lands piece by piece."""
    for i in range(160):
        path = root / f"notes{i % 8}" / f"n{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(8_000, 48_000)))
    (root / "big.bin").write_bytes(rng.randbytes(32_000_000))


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX)]


async def start_sync(home: Home, root: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *roost_command(), "sync", str(root), env=home.env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
    await proc.wait()


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


async def missing(conn: Connection, hashes: list[str]) -> set[str]:
    out: set[str] = set()
    for i in range(0, len(hashes), wire.MAX_HASHES_PER_REQUEST):
        answer = await conn.call(
            "files.missing", wire.FindMissing(None, hashes[i : i + wire.MAX_HASHES_PER_REQUEST])
        )
        out.update(answer.hashes)
    return out


async def test_a_sync_killed_mid_upload_resumes_without_resending_blocks(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    laptop = make_home("laptop", server_process.url)
    await laptop.register("alice")
    workspace = tmp_path / "workspace"
    make_workspace(workspace, random.Random(7))
    hashes = list(
        dict.fromkeys(c.hash for p in sorted(workspace.rglob("*.bin")) for c in chunk_file(p))
    )

    watcher = Connection(server_process.url, ClientHome(laptop.path).token())
    await watcher.open()
    proc = await start_sync(laptop, workspace)
    try:
        async with asyncio.timeout(60 * SECOND):  # kill it once the first blocks arrived
            while len(await missing(watcher, hashes)) == len(hashes):
                assert proc.returncode is None, "roost sync exited before uploading"
                await asyncio.sleep(0.005)
        await kill(proc)
        # The server may still store blocks that were in flight; what it holds only grows, so
        # the rerun must send at most what is missing now.
        left = await missing(watcher, hashes)
        held_before = len(hashes) - len(left)
        assert 0 < held_before < len(hashes), "the kill did not land mid-upload"
    finally:
        await kill(proc)

    rerun = await laptop.ok("sync", str(workspace), "--once")
    counted = SENT.search(rerun.stderr)
    assert counted is not None, rerun.stderr
    sent = int(counted[1])
    print(f"{len(hashes)} blocks: {held_before} held after the kill; the rerun sent {sent}")
    assert sent <= len(left) < len(hashes)
    assert await missing(watcher, hashes) == set()
    await watcher.close()

    desktop = make_home("desktop", server_process.url)  # converged: another device gets it all
    await desktop.login("alice", device="desktop")
    elsewhere = tmp_path / "desktop"
    proc = await start_sync(desktop, elsewhere)
    try:
        async with asyncio.timeout(60 * SECOND):  # kill it while the big file is half written
            while not any(elsewhere.glob(TEMP_PREFIX + "*")):  # big.bin's, at the top
                assert proc.returncode is None, "roost sync exited before downloading"
                await asyncio.sleep(0.002)
    finally:
        await kill(proc)
    await desktop.ok("sync", str(elsewhere), "--once")
    assert temp_files(elsewhere) == []
    assert tree(elsewhere) == tree(workspace)
