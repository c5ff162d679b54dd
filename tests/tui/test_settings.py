"""Settings that last: the theme and key choices in the client home, through the real app."""

from __future__ import annotations

from pathlib import Path

from client.settings import Settings, load_settings, save_settings, settings_path
from tests.conftest import LiveServer
from tests.tui.test_app import FAST, registered_home, until
from tui.app import RoostApp
from tui.screens.messages import MessagesScreen


async def test_the_theme_chosen_is_there_next_time(live: LiveServer, tmp_path: Path) -> None:
    home = await registered_home(tmp_path, live.url, "dan")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.theme
        await pilot.press("ctrl+t")
        chosen = app.theme
        assert chosen != before
    assert load_settings(home)[0].theme == chosen

    again = RoostApp(home, backoff=FAST)
    async with again.run_test(size=(80, 24)):
        assert again.theme == chosen


async def test_key_choices_are_used_and_bad_ones_named(live: LiveServer, tmp_path: Path) -> None:
    home = await registered_home(tmp_path, live.url, "erin")
    save_settings(
        home, Settings(theme="no-such-theme", keys={"messages": "ctrl+g", "mesages": "x"})
    )
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        said = [n.message for n in app._notifications]
        assert any("no key action mesages" in m for m in said), said
        assert any("no theme 'no-such-theme'" in m for m in said), said
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("ctrl+g")
        await until(lambda: isinstance(app.screen, MessagesScreen), "messages by the chosen key")


async def test_a_damaged_settings_file_warns_and_is_left_for_a_person(
    live: LiveServer, tmp_path: Path
) -> None:
    home = await registered_home(tmp_path, live.url, "fay")
    settings_path(home).write_text("{not json")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        assert any("settings.json is not valid" in n.message for n in app._notifications)
        await pilot.press("ctrl+t")
    assert settings_path(home).read_text() == "{not json"
