"""The terminal app against a real server, driven with Textual's Pilot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Button, DataTable, Input, Static

from client.backoff import Backoff
from client.core import RoostClient
from client.home import ClientHome
from protocol.profiles import GetProfile, SetProfile
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, SECOND
from tui.app import RoostApp
from tui.screens.devices import DevicesScreen
from tui.screens.files import FilesScreen
from tui.screens.home import HomeScreen
from tui.screens.login import LoginScreen
from tui.screens.profile import ProfileScreen
from tui.widgets.nav_bar import NavBar
from tui.widgets.profile import ProfileCard

FAST = Backoff(base=0.05, cap=0.2)


async def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    try:
        async with asyncio.timeout(timeout * SECOND):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for: {what}") from None


def card_text(app: RoostApp, card_id: str = "#own-card") -> str:
    card = app.screen.query_one(card_id, ProfileCard)
    return " ".join(str(s.render()) for s in card.query(Static))


async def registered_home(tmp_path: Path, url: str, username: str, name: str = "tui") -> ClientHome:
    home = ClientHome(tmp_path / name)
    async with RoostClient(home) as client:
        await client.register(url, username, PASSWORD, name)
        await client.write(
            "profile.set", SetProfile(display_name=f"{username.title()} T.", bio="hi")
        )
    return home


async def test_register_from_the_login_screen(live: LiveServer, tmp_path: Path) -> None:
    app = RoostApp(ClientHome(tmp_path / "new"), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        app.screen.query_one("#server", Input).value = live.url
        app.screen.query_one("#username", Input).value = "newbie"
        app.screen.query_one("#password", Input).value = "short"
        await pilot.click("#register")
        error = app.screen.query_one("#login-error", Static)
        await until(lambda: "too short" in str(error.render()), "password error")
        app.screen.query_one("#password", Input).value = PASSWORD
        app.screen.query_one("#register", Button).press()  # a click now would be a double-click
        await until(lambda: isinstance(app.screen, HomeScreen), f"home screen ({error.render()})")
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f4")
        await until(lambda: "@newbie" in card_text(app), "own profile")
    assert ClientHome(tmp_path / "new").require_account().username == "newbie"


async def test_edit_profile_and_see_another_devices_edit_live(
    live: LiveServer, tmp_path: Path
) -> None:
    home = await registered_home(tmp_path, live.url, "alice")
    other = await live.login("alice", device="phone")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f4")
        await until(lambda: "Alice T." in card_text(app), "profile painted")

        screen = app.screen
        screen.query_one("#display-name", Input).value = "Alice Gardener"
        await pilot.press("ctrl+s")
        await until(lambda: "Alice Gardener" in card_text(app), "saved name shown")

        phone = await live.connect(other.token)
        assert (await phone.call("profile.get", GetProfile())).display_name == "Alice Gardener"
        await phone.call("profile.set", SetProfile(bio="edited on the phone"))
        await until(lambda: "edited on the phone" in card_text(app), "live update")
        await phone.close()


async def test_offline_edit_is_pending_until_the_server_returns(tmp_path: Path) -> None:
    server = RoostServer(
        ServerConfig(registration="open", data_dir=tmp_path / "s", port=0, shutdown_grace=1.0)
    )
    await server.start()
    port = server.port
    url = f"ws://127.0.0.1:{port}"
    home = await registered_home(tmp_path, url, "bob")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f4")
        await until(lambda: isinstance(app.screen, ProfileScreen), "profile screen")
        await server.stop()
        await until(lambda: app.link_state in ("reconnecting", "connecting"), "offline")

        app.screen.query_one("#display-name", Input).value = "Bob Offline"
        await pilot.press("ctrl+s")
        await until(lambda: "pending" in card_text(app), "pending mark")
        assert "Bob Offline" in card_text(app)
        await until(lambda: app.outbox_count == 1, "outbox count")
        status = str(app.screen.query_one("#link", Static).render())
        assert "reconnecting in" in status or "connecting" in status

        server = RoostServer(
            ServerConfig(
                registration="open", data_dir=tmp_path / "s", port=port, shutdown_grace=1.0
            )
        )
        await server.start()
        await until(lambda: app.link_state == "connected", "reconnected")
        await until(lambda: "pending" not in card_text(app), "pending cleared")
        await until(lambda: app.outbox_count == 0, "outbox drained")
        assert "Bob Offline" in card_text(app)
    check = await LiveServer(server).connect((home.path / "token").read_text())
    assert (await check.call("profile.get", GetProfile())).display_name == "Bob Offline"
    await check.close()
    await server.stop()


async def test_revoke_another_device_from_the_devices_screen(
    live: LiveServer, tmp_path: Path
) -> None:
    home = await registered_home(tmp_path, live.url, "carol", name="desk")
    phone = await live.login("carol", device="phone")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f5")
        await until(lambda: isinstance(app.screen, DevicesScreen), "devices screen")
        table = app.screen.query_one("#devices", DataTable)
        await until(lambda: table.row_count == 2, "two devices")
        table.move_cursor(row=1)
        await pilot.press("r")
        await until(lambda: bool(app.screen.query("#yes")), "confirm dialog")
        app.screen.query_one("#yes", Button).press()
        await until(lambda: isinstance(app.screen, DevicesScreen), "dialog closed")
        await until(lambda: app.screen.query_one("#devices", DataTable).row_count == 1, "one left")
    from client.errors import AuthRejected

    try:
        await live.connect(phone.token)
    except AuthRejected:
        pass
    else:
        raise AssertionError("the revoked phone should be refused")


async def test_help_and_theme(live: LiveServer, tmp_path: Path) -> None:
    home = await registered_home(tmp_path, live.url, "dan")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        theme = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != theme
        await pilot.press("f1")
        await until(lambda: app.screen.__class__.__name__ == "HelpScreen", "help")
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, HomeScreen), "back")


async def test_revoked_device_asks_before_forgetting_anything(
    live: LiveServer, tmp_path: Path
) -> None:
    from protocol.accounts import RevokeDevice
    from tui.screens.confirm import ConfirmScreen

    home = await registered_home(tmp_path, live.url, "erin", name="tablet")
    desk = await live.login("erin", device="desk")
    tablet_id = home.require_account().device_id

    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        conn = await live.connect(desk.token)
        await conn.call("devices.revoke", RevokeDevice(device_id=tablet_id))
        await conn.close()
        await until(lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert home.account() is not None  # nothing forgotten yet
        await pilot.press("y")
        await until(lambda: isinstance(app.screen, LoginScreen), "login screen")
    assert home.account() is None


async def test_every_screen_and_help_can_be_found_on_an_80_column_terminal(
    live: LiveServer, tmp_path: Path
) -> None:
    home = await registered_home(tmp_path, live.url, "alice")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        line = nav_line(app)
        for key, name in [("F2", "Home"), ("F6", "Messages"), ("F7", "Files"), ("F8", "Explore")]:
            assert f"{key} {name}" in line
        assert "F1 help" in str(app.screen.query_one("#keys", Static).render())
        assert highlighted(app) == "F2 Home"

        await pilot.click(NavBar, offset=(line.index("F7 Files") + 2, 0))  # a click switches
        await until(lambda: isinstance(app.screen, FilesScreen), "the files screen")
        assert highlighted(app) == "F7 Files"
        await pilot.press("f6")  # and so does its key
        await until(lambda: highlighted(app) == "F6 Messages", "messages highlighted")


def nav_line(app: RoostApp) -> str:
    return "".join(segment.text for segment in app.screen.query_one(NavBar).render_line(0))


def highlighted(app: RoostApp) -> str:
    """The nav bar's text shown in reverse: the screen shown."""
    strip = app.screen.query_one(NavBar).render_line(0)
    return "".join(s.text for s in strip if s.style and s.style.reverse).strip()
