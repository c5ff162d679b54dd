"""The login screen on a server that registers by invite: the code goes in its own field; a
missing or wrong one is said on the form; and an account disabled while the app runs is told
so, not asked to log in again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from client.backoff import Backoff
from client.home import ClientHome
from protocol.admin import AccountRef, CreateInvite
from tests.conftest import LiveServer, start_server
from tests.helpers import PASSWORD
from tests.tui.test_app import until
from tui.app import RoostApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.home import HomeScreen
from tui.screens.login import LoginScreen

FAST = Backoff(base=0.05, cap=0.2)


@pytest.fixture
async def invite_only(tmp_path: Path) -> AsyncIterator[LiveServer]:
    server = await start_server(tmp_path / "server", registration="invite")
    try:
        yield LiveServer(server)
    finally:
        await server.stop()


async def test_register_with_an_invite_code_then_get_disabled(
    invite_only: LiveServer, tmp_path: Path
) -> None:
    admin = await invite_only.connect((await invite_only.register("founder")).token)
    made = await admin.call("admin.invites.create", CreateInvite())
    app = RoostApp(ClientHome(tmp_path / "new"), backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:  # the form fits a small terminal
        assert isinstance(app.screen, LoginScreen)
        form = app.screen
        form.query_one("#server", Input).value = invite_only.url
        form.query_one("#username", Input).value = "newbie"
        form.query_one("#password", Input).value = PASSWORD
        error = form.query_one("#login-error", Static)
        await pilot.click("#register")
        needs = "this server registers by invite: ask its admin for a code"
        await until(lambda: str(error.render()) == needs, f"invite asked for ({error.render()})")
        assert error.region.height == 1 and error.region.bottom <= 24  # shown whole

        form.query_one("#invite", Input).value = made.code[:-2] + "xx"
        form.query_one("#register", Button).press()
        await until(lambda: "no such invite code" in str(error.render()), "wrong code said")

        form.query_one("#invite", Input).value = f" {made.code} "
        form.query_one("#register", Button).press()
        await until(lambda: isinstance(app.screen, HomeScreen), f"home ({error.render()})")
        await until(lambda: app.link_state == "connected", "connected")

        await admin.call("admin.users.disable", AccountRef(username="newbie"))
        await until(
            lambda: isinstance(app.screen, ConfirmScreen) and bool(app.screen.query("#question")),
            "told it is disabled",
        )  # the screen is pushed before its widgets are composed
        question = str(app.screen.query_one("#question", Static).render())
        assert question.startswith("This account is disabled: ask the server's admin. Log out")
    await admin.close()
