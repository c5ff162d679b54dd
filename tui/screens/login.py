"""Log in or register when this client home has no account yet."""

from __future__ import annotations

import os
import socket

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from client.display import safe_text
from client.errors import ClientError, ServerError
from client.home import DEFAULT_SERVER
from tui.widgets.footer import RoostFooter


class LoginScreen(Screen[bool]):
    """Dismissed with True once this device is logged in."""

    # The main screens show these in their status bar; this one has none.
    BINDINGS = [
        Binding("ctrl+q", "app.quit", "Quit", priority=True),
        Binding("f1", "app.help", "Help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="login-box") as box:
            box.border_title = "Roost"  # in the border: the form fits 80x24
            yield Static("Log in, or create an account on your group's server.", id="login-hint")
            yield Label("Server")
            yield Input(os.environ.get("ROOST_SERVER", DEFAULT_SERVER), id="server")
            yield Label("Username")
            yield Input(placeholder="3-32 letters, digits or _", id="username", max_length=32)
            yield Label("Password")
            yield Input(placeholder="at least 8 characters", password=True, id="password")
            with Horizontal(id="login-pair"):  # side by side: the form still fits 80x24
                with Vertical():
                    yield Label("This device")
                    yield Input(socket.gethostname(), id="device", max_length=64)
                with Vertical():
                    yield Label("Invite code")
                    yield Input(placeholder="if the server asks", id="invite", max_length=64)
            with Horizontal(id="login-actions"):
                yield Button("Log in", id="login", variant="primary")
                yield Button("Register", id="register")
            yield Static(id="login-error")
        yield RoostFooter()

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    def _value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._sign_in(register=False)

    @on(Button.Pressed, "#login")
    def _login(self) -> None:
        self._sign_in(register=False)

    @on(Button.Pressed, "#register")
    def _register(self) -> None:
        self._sign_in(register=True)

    @work(exclusive=True, group="sign-in")
    async def _sign_in(self, *, register: bool) -> None:
        from tui.app import RoostApp

        app = self.app
        assert isinstance(app, RoostApp)
        error = self.query_one("#login-error", Static)
        error.update("registering…" if register else "logging in…")
        args = (
            self._value("server"),
            self._value("username"),
            self.query_one("#password", Input).value,
            self._value("device") or "tui",
        )
        try:
            if register:
                await app.client.register(*args, invite=self._value("invite") or None)
            else:
                await app.client.login(*args)
        except ClientError as exc:
            error.update(safe_text(exc.message if isinstance(exc, ServerError) else str(exc)))
            self.call_after_refresh(error.scroll_visible)  # wrapped, and in sight at 80x24
            return
        self.dismiss(True)
