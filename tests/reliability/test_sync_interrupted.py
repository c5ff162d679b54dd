"""Ctrl-C during `roost sync`, in the middle of a large download: the process exits 130 at
once with no error line, leaves only the partial of what it fetched, and the next sync
fetches only the blocks that partial lacks. The download runs through a slow proxy so that
the signal lands while it is half way."""

from __future__ import annotations

import asyncio
import random
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest

from client.sync.ignore import TEMP_PREFIX
from client.sync.partial import PARTIAL_PREFIX
from storage.content.chunker import chunk_file
from tests.helpers import SECOND, Home, ServerProcess, roost_command
from tests.tcp_proxy import TcpProxy

FETCHED = re.compile(r"fetched (\d+) blocks?")
REUSED = re.compile(r"(\d+) blocks? re-used from disk")
SLOW_LINK = 6 << 20  # bytes per second


def temp_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX))


@pytest.mark.parametrize("mode", [[], ["--once"]], ids=["watching", "once"])
async def test_ctrl_c_mid_download_exits_130_and_the_next_sync_resumes(
    server_process: ServerProcess,
    make_home: Callable[[str, str], Home],
    tmp_path: Path,
    mode: list[str],
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(random.Random(3).randbytes(40_000_000))
    blocks = [c.hash for c in chunk_file(big)]
    laptop = make_home("laptop", server_process.url)
    await laptop.register("alice")
    await laptop.ok("files", "put", str(big))

    port = urlparse(server_process.url).port
    assert port is not None
    proxy = await TcpProxy([port], bytes_per_second=SLOW_LINK).start()
    desktop = make_home("desktop", proxy.url)
    await desktop.login("alice", device="desktop")
    workspace = tmp_path / "desktop"
    proc = await asyncio.create_subprocess_exec(
        *roost_command(), "sync", str(workspace), *mode, env=desktop.env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(60 * SECOND):  # half way: some blocks written, not all
            while not any(p.stat().st_size >= 8 << 20 for p in workspace.glob(TEMP_PREFIX + "*")):
                assert proc.returncode is None, "roost sync exited before downloading"
                await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10 * SECOND):  # at once, not after the download
            _, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = err.decode()
    assert proc.returncode == 130, stderr
    stopped = await desktop.ok("sync", "status")
    assert "stopped before it finished (Ctrl-C or SIGTERM)" in stopped.stdout, stopped.stdout
    assert "error" not in stderr.lower(), stderr
    assert "the next roost sync goes on from there" in stderr, stderr  # says what to do
    assert not (workspace / "big.bin").exists()
    left = temp_files(workspace)
    assert left and all(name.startswith(PARTIAL_PREFIX) for name in left), left

    proxy.bytes_per_second = None
    rerun = await desktop.ok("sync", str(workspace), "--once")
    fetched, reused = FETCHED.search(rerun.stderr), REUSED.search(rerun.stderr)
    assert fetched is not None and reused is not None, rerun.stderr
    assert int(reused[1]) >= 2  # 8 MiB of 40 MB at least came from the partial
    assert int(fetched[1]) + int(reused[1]) == len(blocks), rerun.stderr
    assert (workspace / "big.bin").read_bytes() == big.read_bytes()
    assert temp_files(workspace) == []
    status = await desktop.ok("sync", "status")
    assert "last pass" in status.stdout and ", ok" in status.stdout, status.stdout
    assert "downloaded 1," in status.stdout
    await proxy.close()
