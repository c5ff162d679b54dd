"""How Explore and someone else's profile look, at 120x40 and 80x24, painted from a fixed
client cache (offline). Update with `--snapshot-update` and look at the SVGs before committing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from client.core import RoostClient
from client.home import ClientHome
from protocol.social import (
    FileHit,
    MessageHit,
    Page,
    Post,
    SearchResult,
    Suggestion,
    Suggestions,
    Tag,
    TrendingTags,
    UserCard,
    UserProfile,
)
from tests.tui.test_snapshots import JOINED, POSTED, SIZES, cached_home, settle
from tui.app import RoostApp

BOB_POST = Post("3003", "bob", "Swarm season is here. Who has a spare hive box? #bees", POSTED,
                like_count=2, reply_count=1, tags=["bees"])  # fmt: skip


def explore_home(path: Path) -> ClientHome:
    """`cached_home` plus what Explore and bob's profile show."""
    home = cached_home(path)
    trending = TrendingTags(24, [Tag("bees", 3, 5), Tag("wildflowers", 2, 2)])
    suggestions = Suggestions(
        [
            Suggestion("carol", "Carol Keeper", 2, 14, ["bob", "dave"]),
            Suggestion("erin", "", 3, 3, ["bob", "dave"]),
        ]
    )
    found = SearchResult(
        posts=[BOB_POST, Post("3001", "dave", "Our #bees found the lime trees", POSTED)],
        users=[UserCard("beekeeper", "Bea Keeper", 40, 12)],
        tags=[Tag("bees", 3, 5), Tag("beeswax", 1, 2)],
        messages=[
            MessageHit("4001", "direct", "bob", 7, "bob", "The bees are calm today", POSTED),
            MessageHit("4002", "group", "Apiary", 3, "carol", "More bees on Sunday?", POSTED),
        ],
        files=[FileHit("5001", "shared", "club", "Bees/inspections.md", "file", "6001", 2_300, 0)],
    )
    bob = UserProfile("bob", "Bob Hives", "Two hives, one allotment.", JOINED, 12, 7, 31,
                      you_follow=True, follows_you=True)  # fmt: skip
    bobs_posts = Page([BOB_POST, Post("3000", "bob", "First frost on the hives.", POSTED)], None)

    async def fill() -> None:
        async with RoostClient(home) as client:
            put = client.cache.put
            await put("trending.tags", "24:10", msgspec.json.encode(trending))
            await put("suggest.follows", "10", msgspec.json.encode(suggestions))
            await put("search.query", "20:#bees", msgspec.json.encode(found))
            await put("user.profile", "bob", msgspec.json.encode(bob))
            await put("timeline.user", "bob:20:", msgspec.json.encode(bobs_posts))

    asyncio.run(fill())
    return home


@pytest.mark.parametrize("size", SIZES)
def test_explore_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(explore_home(tmp_path / "h"), connect=False)

    async def search(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)
        box = pilot.app.screen.query_one("#explore-search", Input)
        box.value = "#bees"
        await box.action_submit()
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=search)


@pytest.mark.parametrize("size", SIZES)
def test_someone_elses_profile(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(explore_home(tmp_path / "h"), connect=False)

    async def open_bob(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("escape", "p")  # into the list: its highlighted post is bob's
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_bob)
