"""Start-up of the terminal app (#24 "Measured", bench/tui_startup.py): the cached timeline
painted first and the server asked after, no more rows in the first layout than the terminal
shows, no second parse of the stylesheet when a screen is first shown, a footer rebuilt only
when its keys change, and collection held while `roost tui` starts."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.color import Color
from textual.css.stylesheet import Stylesheet
from textual.widgets import ListView
from textual.widgets._footer import FooterKey

from client.core import RoostClient
from client.settings import Settings, save_settings
from client.social import Social
from tests.conftest import LiveServer
from tests.tui.test_app import FAST, registered_home, until
from tui import gc_policy
from tui.app import RoostApp
from tui.screens.home import HomeScreen, first_paint_rows
from tui.screens.notifications import NotificationsScreen
from tui.widgets.footer import RoostFooter
from tui.widgets.posts import PostItem


def texts(app: RoostApp) -> list[str]:
    return [item.post.text for item in app.screen.query(PostItem)]


@pytest.fixture
def first_frames(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each Home showed when it mounted (its first layout), in order."""
    seen: list[dict[str, Any]] = []
    mount = HomeScreen.on_mount

    def on_mount(self: HomeScreen) -> None:
        seen.append({"texts": texts(self.roost), "background": self.styles.background})
        mount(self)

    monkeypatch.setattr(HomeScreen, "on_mount", on_mount)
    return seen


async def test_the_cached_timeline_paints_first_and_the_servers_follows(
    live: LiveServer, tmp_path: Path, first_frames: list[dict[str, Any]]
) -> None:
    home = await registered_home(tmp_path, live.url, "alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(home) as alice, RoostClient(bob_home) as bob:
        await Social(alice).follow("bob")
        await Social(bob).post("cached before #bees")
        await Social(alice).home()  # what alice's last session saw
        await Social(bob).post("new on the server #bees")

    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)):
        await until(lambda: "new on the server #bees" in texts(app), "the server's page")
        assert texts(app) == ["new on the server #bees", "cached before #bees"]
    assert first_frames[0]["texts"] == ["cached before #bees"]


async def test_home_lays_out_a_screenful_first_and_the_rest_after(
    live: LiveServer, tmp_path: Path, first_frames: list[dict[str, Any]]
) -> None:
    home = await registered_home(tmp_path, live.url, "alice")
    async with RoostClient(home) as alice:
        for n in range(20):
            await Social(alice).post(f"post {n}")
        await Social(alice).home()

    app = RoostApp(home, backoff=FAST, connect=False)
    async with app.run_test(size=(100, 24)):
        await until(lambda: len(texts(app)) == 20, "all twenty cached posts")
        assert app.screen.query_one("#timeline", ListView).index == 0
    assert first_frames[0]["texts"] == [f"post {n}" for n in range(19, 15, -1)]  # 4 show at 24


@pytest.mark.parametrize(("lines", "rows"), [(0, 1), (12, 1), (13, 2), (24, 4), (40, 8), (60, 13)])
def test_first_paint_rows_fill_the_terminal(lines: int, rows: int) -> None:
    assert first_paint_rows(lines) == rows


async def test_a_screen_shown_the_first_time_does_not_parse_the_stylesheet_again(
    live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reparsed = []
    reparse = Stylesheet.reparse

    def counted(self: Stylesheet) -> None:
        reparsed.append(self)
        reparse(self)

    monkeypatch.setattr(Stylesheet, "reparse", counted)
    home = await registered_home(tmp_path, live.url, "alice")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("f3")
        await until(lambda: isinstance(app.screen, NotificationsScreen), "alerts")
        await pilot.pause()
        assert reparsed == []
        await pilot.press("ctrl+t")  # a change of theme still reaches every screen
        await pilot.press("f2")
        await until(lambda: isinstance(app.screen, HomeScreen), "home again")
        await pilot.pause()
        assert reparsed
        background = app.theme_variables["background"]
        assert app.screen.styles.background == Color.parse(background)


async def test_a_saved_theme_is_on_home_from_its_first_layout(
    live: LiveServer, tmp_path: Path, first_frames: list[dict[str, Any]]
) -> None:
    home = await registered_home(tmp_path, live.url, "alice")
    save_settings(home, Settings(theme="nord"))
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)):
        await until(lambda: isinstance(app.screen, HomeScreen), "home")
        assert app.theme == "nord"
        nord = Color.parse(app.theme_variables["background"])
    assert first_frames[0]["background"] == nord


async def test_the_footer_rebuilds_its_keys_only_when_they_change(
    live: LiveServer, tmp_path: Path
) -> None:
    home = await registered_home(tmp_path, live.url, "alice")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.pause()
        footer = app.screen.query_one(RoostFooter)

        def actions() -> list[str]:
            return [key.action for key in footer.query(FooterKey)]

        shown = list(footer.query(FooterKey))
        assert "reload" in actions() and "like" not in actions()  # letters are text here
        app.screen.refresh_bindings()
        await pilot.pause()
        assert list(footer.query(FooterKey)) == shown  # nothing changed: the same keys
        app.screen.query_one("#timeline", ListView).focus()
        await until(lambda: "like" in actions(), "l Like shown once in the list")


@pytest.fixture
def collector_restored() -> Iterator[None]:
    yield
    gc_policy.resume()
    gc.unfreeze()
    gc.enable()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collection_is_held_then_resumed_once(collector_restored: None) -> None:
    gc_policy.hold()
    assert not gc.isenabled()
    garbage = Cycle()
    gone = weakref.ref(garbage)
    del garbage
    gc_policy.resume()
    assert gc.isenabled() and gone() is None  # start-up's garbage freed in one collection
    assert gc.get_freeze_count() > 0  # and what outlived start-up frozen out of later ones


def test_resume_leaves_a_process_that_held_nothing_alone(collector_restored: None) -> None:
    gc.disable()
    gc_policy.resume()
    assert not gc.isenabled()


async def test_an_app_started_with_collection_held_collects_once_it_has_painted(
    live: LiveServer, tmp_path: Path, collector_restored: None
) -> None:
    home = await registered_home(tmp_path, live.url, "alice")
    gc_policy.hold()
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)):
        await until(lambda: isinstance(app.screen, HomeScreen), "home")
        assert not gc.isenabled()
        await until(gc.isenabled, "collection resumed")
