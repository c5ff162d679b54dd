"""How each screen looks, at 120x40 and 80x24, painted from a fixed client cache (offline).

Update after an intended change with `python -m pytest tests/tui --snapshot-update`, and look
at the SVGs in __snapshots__ before committing them.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from client.core import RoostClient
from client.home import Account, ClientHome
from protocol.accounts import Device, DeviceList
from protocol.profiles import Profile
from protocol.social import Notification, Notifications, Page, Post, Thread
from tui.app import RoostApp

SIZES = [(120, 40), (80, 24)]
os.environ["TZ"] = "UTC"  # times on screen are local: pin them so the pictures do not move
time.tzset()
JOINED = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
POSTED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def cached_home(path: Path) -> ClientHome:
    """A logged-in home whose server is unreachable, with a profile and devices cached."""
    home = ClientHome(path)
    home.save(Account("ws://127.0.0.1:9", "1001", "alice", "2001", "laptop"), "not-a-real-token")
    profile = Profile("alice", "Alice Gardener", "Bees, gardens, bad puns.", JOINED, JOINED)
    devices = DeviceList(
        [
            Device("2001", "laptop", JOINED, datetime(2026, 11, 20, 18, 0, tzinfo=UTC), True),
            Device("2002", "phone", JOINED, datetime(2026, 11, 19, 7, 45, tzinfo=UTC), False),
        ]
    )

    posts = [
        Post("3003", "bob", "Swarm season is here. Who has a spare hive box? #bees", POSTED,
             like_count=2, reply_count=1, tags=["bees"]),
        Post("3002", "alice", "Planted the wildflower strip today.", POSTED, liked=True,
             like_count=1),
    ]  # fmt: skip
    notes = Notifications(
        [Notification("4002", "like", "bob", POSTED, posts[1]),
         Notification("4001", "follow", "carol", POSTED, None, unread=False)],
        read_up_to="4001", unread=1, next_before=None,
    )  # fmt: skip

    async def fill() -> None:
        async with RoostClient(home) as client:
            await client.cache.put("profile.get", "alice", msgspec.json.encode(profile))
            await client.cache.put("devices.list", "mine", msgspec.json.encode(devices))
            await client.cache.put(
                "timeline.home", "alice:20:", msgspec.json.encode(Page(posts, None))
            )
            await client.cache.put("notifications.list", "30:", msgspec.json.encode(notes))

    asyncio.run(fill())
    return home


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def opening(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_home_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(cached_home(tmp_path / "h"), connect=False)
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_notifications_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(cached_home(tmp_path / "h"), connect=False)
    assert snap_compare(app, terminal_size=size, run_before=opening("f3"))


@pytest.mark.parametrize("size", SIZES)
def test_profile_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(cached_home(tmp_path / "h"), connect=False)
    assert snap_compare(app, terminal_size=size, run_before=opening("f4"))


@pytest.mark.parametrize("size", SIZES)
def test_devices_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(cached_home(tmp_path / "h"), connect=False)
    assert snap_compare(app, terminal_size=size, run_before=opening("f5"))


@pytest.mark.parametrize("size", SIZES)
def test_thread_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    home = cached_home(tmp_path / "h")
    swarm = Post(
        "3003",
        "bob",
        "Swarm season is here. Who has a spare hive box? #bees",
        POSTED,
        like_count=2,
        reply_count=1,
        tags=["bees"],
    )
    reply = Post(
        "3004",
        "alice",
        "@bob I have one, come by on Saturday.",
        POSTED,
        reply_to="3003",
        mentions=["bob"],
    )
    thread = Thread(swarm, [], [reply])  # fmt: skip

    async def fill() -> None:
        async with RoostClient(home) as client:
            await client.cache.put("post.thread", "3003", msgspec.json.encode(thread))

    asyncio.run(fill())
    app = RoostApp(home, connect=False)
    assert snap_compare(
        app, terminal_size=size, run_before=opening("escape", "enter")
    )  # from the list


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(cached_home(tmp_path / "h"), connect=False)
    assert snap_compare(app, terminal_size=size, run_before=opening("f1"))


@pytest.mark.parametrize("size", SIZES)
def test_login_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(ClientHome(tmp_path / "empty"), connect=False)

    async def fill(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.screen.query_one("#server", Input).value = "ws://roost.example:7447"
        pilot.app.screen.query_one("#device", Input).value = "laptop"
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=fill)
