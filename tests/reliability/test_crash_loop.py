"""A seeded kill loop: one `roost serve` subprocess on a fixed data folder is SIGKILLed at a
random moment of a mixed workload (chat burst, post fan-out, file sync), restarted and checked,
cycle after cycle.

CI runs 3 cycles. The full run (at least 50 cycles):

    python -m pytest tests/reliability -m slow -q

ROOST_CRASH_CYCLES=N sets the count; ROOST_CRASH_SEED=S repeats a run (each run prints its seed,
and every failure message carries it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from pathlib import Path

import pytest

from client.core import RoostClient
from tests.helpers import SECOND, ServerProcess
from tests.reliability.conftest import CYCLE_SECONDS
from tests.reliability.workloads import ChatBurst, FileSync, PostFanOut, sign_in

CHAT_SENDERS = 4
FOLLOWERS = 12


def orphan_temp_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blocks").rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.slow
async def test_acked_writes_survive_a_seeded_kill_loop(tmp_path: Path, cycles: int) -> None:
    seed = int(os.environ.get("ROOST_CRASH_SEED") or random.randrange(2**32))
    print(f"crash loop: ROOST_CRASH_SEED={seed} ROOST_CRASH_CYCLES={cycles}")
    rng = random.Random(seed)
    data_dir = tmp_path / "server-data"
    server = await ServerProcess(data_dir).start()
    homes = tmp_path / "homes"
    clients: list[RoostClient] = []

    async def client(name: str, *, register: bool = True, user: str | None = None) -> RoostClient:
        c = await sign_in(server.url, homes / name, user or name, register=register)
        clients.append(c)
        return c

    try:
        chat = ChatBurst([await client(f"chatter{i}") for i in range(CHAT_SENDERS)], rng)
        posts = PostFanOut(
            await client("author"), [await client(f"follower{i}") for i in range(FOLLOWERS)]
        )
        files = FileSync(
            await client("filer"),
            await client("filer_check", register=False, user="filer"),
            tmp_path / "workspace",
            data_dir,
            rng,
        )
        workloads = (chat, posts, files)
        for w in workloads:
            await w.setup()

        for cycle in range(cycles):
            where = f"seed {seed}, cycle {cycle}"
            async with asyncio.timeout(CYCLE_SECONDS * SECOND):
                running = [asyncio.create_task(w.run(cycle)) for w in workloads]
                await asyncio.sleep(rng.uniform(0.05, 1.5))  # somewhere in the middle of it all
                await server.kill()
                done = await asyncio.gather(*running, return_exceptions=True)
                failed = [r for r in done if isinstance(r, BaseException)]
                assert not failed, f"{where}: a workload failed while the server died: {failed!r}"
                replaying = len(chat.queued) + len(posts.queued)
                await server.start()
                assert not orphan_temp_files(data_dir), f"{where}: block temp files left behind"
                for w in workloads:
                    try:
                        await w.verify()
                    except AssertionError as exc:
                        raise AssertionError(f"{where}: {type(w).__name__}: {exc}") from exc
            print(
                f"cycle {cycle}: {len(chat.acked)} messages, {len(posts.acked)} posts,"
                f" {len(files.verified)} file versions; {replaying} writes replayed"
            )
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.close()
        if server.proc is not None and server.proc.returncode is None:
            await server.kill()


async def test_block_temp_files_left_by_a_crash_are_swept_at_start(tmp_path: Path) -> None:
    """A block write cut short leaves `.NAME.RANDOM.tmp` beside the blocks; the next start
    removes it and keeps every real block."""
    data_dir = tmp_path / "server-data"
    server = await ServerProcess(data_dir).start()
    await server.kill()
    folder = data_dir / "blocks" / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    block = folder / ("cd" * 31)
    block.write_bytes(b"\x00stored block")
    orphan = folder / f".{block.name}.1a2b3c4d.tmp"
    orphan.write_bytes(b"\x00half a bl")
    await server.start()
    try:
        assert orphan_temp_files(data_dir) == []
        assert block.read_bytes() == b"\x00stored block"
    finally:
        await server.kill()
