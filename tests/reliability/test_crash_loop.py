"""A seeded kill loop: one `roost serve` subprocess on a fixed data folder is SIGKILLed at a
random moment of a mixed workload (chat burst, post fan-out, file sync, profile edits),
restarted and checked, cycle after cycle; on SQLite, and on PostgreSQL (the database stays up,
the Roost process dies) with the workloads that run there so far.

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
from datetime import UTC, datetime
from pathlib import Path

import pytest

from client.core import RoostClient
from tests.helpers import MANY_ACCOUNTS, NO_RATE_LIMIT, SECOND, ServerProcess
from tests.reliability.conftest import CYCLE_SECONDS
from tests.reliability.workloads import ChatBurst, FileSync, PostFanOut, ProfileEdits, sign_in

CHAT_SENDERS = 4
FOLLOWERS = 12
EDITORS = 3
# Every workload on each engine (the database stays up; the Roost process is killed).
WORKLOADS = {
    "sqlite": ("chat", "posts", "files", "profiles"),
    "postgresql": ("chat", "posts", "files", "profiles"),
}


def orphan_temp_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blocks").rglob("*") if p.name.endswith(".tmp")]


def plant_orphan_temp_file(data_dir: Path) -> None:
    folder = data_dir / "blocks" / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f".{'cd' * 31}.1a2b3c4d.tmp").write_bytes(b"\x00half a bl")


@pytest.mark.slow
@pytest.mark.parametrize("database", sorted(WORKLOADS))
async def test_acked_writes_survive_a_seeded_kill_loop(
    tmp_path: Path, cycles: int, database: str, request: pytest.FixtureRequest
) -> None:
    seed = int(os.environ.get("ROOST_CRASH_SEED") or random.randrange(2**32))
    print(f"crash loop on {database}: ROOST_CRASH_SEED={seed} ROOST_CRASH_CYCLES={cycles}")
    rng = random.Random(seed)
    data_dir = tmp_path / "server-data"
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    chosen = WORKLOADS[database]
    # 21 accounts from one address, 12 of them registering at once
    server = await ServerProcess(
        data_dir, extra_args=(*NO_RATE_LIMIT, *MANY_ACCOUNTS), database_url=url
    ).start()
    homes = tmp_path / "homes"
    clients: list[RoostClient] = []

    async def client(name: str, *, register: bool = True, user: str | None = None) -> RoostClient:
        c = await sign_in(server.url, homes / name, user or name, register=register)
        clients.append(c)
        return c

    try:
        chat = posts = files = None
        if "chat" in chosen:
            chatters = await asyncio.gather(*(client(f"chatter{i}") for i in range(CHAT_SENDERS)))
            chat = ChatBurst(list(chatters), rng)
        if "posts" in chosen:
            followers = await asyncio.gather(*(client(f"follower{i}") for i in range(FOLLOWERS)))
            posts = PostFanOut(await client("author"), list(followers))
        if "files" in chosen:
            files = FileSync(
                await client("filer"),
                await client("filer_check", register=False, user="filer"),
                tmp_path / "workspace",
                data_dir,
                rng,
            )
        editors = await asyncio.gather(*(client(f"editor{i}") for i in range(EDITORS)))
        profiles = ProfileEdits(list(editors), rng)
        workloads = [w for w in (chat, posts, files, profiles) if w is not None]
        replaying_ones = [w for w in (chat, posts, profiles) if w is not None]
        for w in workloads:
            await w.setup()

        for cycle in range(cycles):
            where = f"seed {seed}, cycle {cycle}"
            async with asyncio.timeout(CYCLE_SECONDS * SECOND):
                running = [asyncio.create_task(w.run(cycle)) for w in workloads]
                await asyncio.sleep(rng.uniform(0.05, 1.2))  # somewhere in the middle of it all
                killed_at = datetime.now(UTC)
                await server.kill()
                for w in replaying_ones:
                    w.replays.killed_at = killed_at
                done = await asyncio.gather(*running, return_exceptions=True)
                failed = [r for r in done if isinstance(r, BaseException)]
                assert not failed, f"{where}: a workload failed while the server died: {failed!r}"
                replaying = sum(len(w.queued) for w in replaying_ones)
                if cycle == 0:  # what a block write cut short leaves, whether or not it hit one
                    plant_orphan_temp_file(data_dir)
                await server.start()
                assert not orphan_temp_files(data_dir), f"{where}: block temp files left behind"
                for w in workloads:
                    try:
                        await w.verify()
                    except AssertionError as exc:
                        raise AssertionError(f"{where}: {type(w).__name__}: {exc}") from exc
                logged = [line for line in server.log if "ERROR" in line or "Traceback" in line]
                assert not logged, f"{where}: the server logged errors: {logged}"
            print(
                f"cycle {cycle}: {len(chat.acked) if chat else 0} messages,"
                f" {len(posts.acked) if posts else 0} posts,"
                f" {len(files.verified) if files else 0} file versions,"
                f" {profiles.acked} profile edits; {replaying} writes replayed, of which"
                f" {sum(w.replays.lost_acks for w in replaying_ones)} so far had been committed"
                " before the kill"
            )
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.close()
        if server.proc is not None and server.proc.returncode is None:
            await server.kill()
