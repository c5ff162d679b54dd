"""One sync engine per home and per folder, with real `roost sync` processes: a second one is
refused with a line naming the holder and changes nothing; the lock dies with a killed sync;
two homes sync side by side."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from client.errors import SyncBusy
from client.sync.ignore import MARKER, TEMP_PREFIX
from client.sync.watch import run_forever
from tests.conftest import LiveServer
from tests.files.helpers import Device, Watcher
from tests.helpers import SECOND, Home

Watch = Callable[[Home, Path], Awaitable[Watcher]]


def in_flight(ws: Path) -> Path:
    """What a download in progress looks like on disk: a temp file the holder will rename."""
    tmp = ws / f"{TEMP_PREFIX}report.pdf.1234"
    tmp.write_bytes(b"half of a download")
    return tmp


async def test_a_second_sync_is_refused_and_leaves_the_first_ones_downloads_alone(
    live: LiveServer, make_home: Callable[[str, str], Home], watch: Watch, tmp_path: Path
) -> None:
    alice = make_home("alice", live.url)
    await alice.register("alice")
    ws = tmp_path / "ws"
    first = await watch(alice, ws)
    partial = in_flight(ws)

    again = await alice.run("sync", str(ws))
    assert again.code == 1
    assert again.stderr.strip().splitlines() == [
        f"error: {ws.resolve()} is already being synced by another roost process"
        f" (pid {first.pid}); stop it first"
    ]
    once = await alice.run("sync", str(ws), "--once")
    assert once.code == 1
    assert f"(pid {first.pid}), which keeps it in sync: --once has nothing to add" in once.stderr
    elsewhere = tmp_path / "other"
    moved = await alice.run("sync", str(elsewhere))
    assert moved.code == 1
    assert f"this Roost home is already syncing {ws.resolve()}" in moved.stderr
    assert not elsewhere.exists()  # nothing made, and the home stays bound to ws

    assert partial.read_bytes() == b"half of a download"  # no sweep ran under the holder
    (ws / "after.txt").write_text("still syncing")
    await first.wait_for("uploaded: after.txt")

    await first.kill()  # SIGKILL: no clean-up runs, the OS drops the lock
    resumed = await alice.ok("sync", str(ws), "--once")
    assert "is in sync" in resumed.stderr
    assert not partial.exists()  # now nobody's: swept as a killed sync's leftover


async def test_two_homes_sync_side_by_side_but_not_the_same_folder(
    live: LiveServer, make_home: Callable[[str, str], Home], watch: Watch, tmp_path: Path
) -> None:
    laptop = make_home("laptop", live.url)
    desktop = make_home("desktop", live.url)
    await laptop.register("alice")
    await desktop.login("alice", device="desktop")
    laptop_ws, desktop_ws = tmp_path / "laptop-ws", tmp_path / "desktop-ws"
    up = await watch(laptop, laptop_ws)
    down = await watch(desktop, desktop_ws)

    (laptop_ws / "plan.txt").write_text("from the laptop")
    await down.wait_for("downloaded: plan.txt")
    assert (desktop_ws / "plan.txt").read_text() == "from the laptop"

    third = make_home("third", live.url)
    await third.login("alice", device="third")
    shared = await third.run("sync", str(laptop_ws), "--once")
    assert shared.code == 1
    assert shared.stderr.strip() == (
        f"error: {laptop_ws.resolve()} is already being synced by another roost process"
        f" (pid {up.pid}) from another Roost home; stop it first"
    )
    assert sorted(p.name for p in laptop_ws.iterdir()) == [MARKER, "plan.txt"]  # untouched


async def test_a_folder_inside_or_around_a_synced_one_is_refused(
    live: LiveServer, make_home: Callable[[str, str], Home], watch: Watch, tmp_path: Path
) -> None:
    laptop = make_home("laptop", live.url)
    other = make_home("other", live.url)
    await laptop.register("alice")
    await other.login("alice", device="other")
    ws = tmp_path / "ws"
    (ws / "photos" / "2026").mkdir(parents=True)
    (ws / "photos" / "2026" / "beach.jpg").write_bytes(b"waves")
    up = await watch(laptop, ws)
    await up.wait_for("uploaded: photos/2026/beach.jpg")

    inside = await other.run("sync", str(ws / "photos"), "--once")
    assert inside.code == 1
    assert inside.stderr.strip() == (
        f"error: {(ws / 'photos').resolve()} is inside {ws.resolve()}, which another roost"
        f" process (pid {up.pid}) is syncing; a folder inside a synced folder syncs with it,"
        " not on its own"
    )
    around = await other.run("sync", str(tmp_path), "--once")
    assert around.code == 1
    assert around.stderr.strip() == (
        f"error: {ws.resolve()} inside {tmp_path.resolve()} is already being synced by another"
        f" roost process (pid {up.pid}); stop it first (a synced folder cannot hold another)"
    )
    assert sorted(p.name for p in (ws / "photos").iterdir()) == ["2026"]  # nothing changed

    await up.kill()  # once it stops, the inner folder is free to sync on its own
    alone = await other.ok("sync", str(ws / "photos"), "--once")
    assert "is in sync" in alone.stderr


async def test_a_stopped_sync_lets_the_next_one_start(pair: tuple[Device, Device]) -> None:
    a, _ = pair
    a.write("notes.txt", "hello")
    stop, synced = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(run_forever(a.engine, stop, on_report=lambda r: synced.set()))
    await asyncio.wait_for(synced.wait(), 20 * SECOND)
    second = Device(a.client, a.root)  # another engine on the same home, as the TUI makes
    with pytest.raises(SyncBusy, match=rf"another roost process \(pid {os.getpid()}\)"):
        await second.sync()

    stop.set()  # sync off, as s does in the app: the lock goes with it
    await asyncio.wait_for(running, 20 * SECOND)
    a.write("later.txt", "after the first stopped")
    assert "later.txt" in (await second.sync()).uploaded
    assert not (await a.sync()).acted  # a one-off pass let go at its end too
