"""`RoostApp`: paints from the client cache at once, then stays live over one connection.

The app owns the `RoostClient`, keeps the connection up in a worker (reconnecting with
backoff), hands every typed event of `client.events()` (server pushes, acked offline writes,
link changes) to the screens that listen, and keeps the status bar's state (`link_state`,
`retry_at`, `outbox_count`).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget

from client.backoff import Backoff
from client.connection import State
from client.core import RoostClient
from client.display import alert_text, clean
from client.errors import AccountDisabled, AuthRejected, ClientError
from client.event_bus import EventStream
from client.events import (
    ClientEvent,
    LinkChanged,
    NewMessage,
    NewNotification,
    ReceiptChanged,
    WriteAcked,
)
from client.home import ClientHome
from client.settings import load_settings, save_settings, settings_path, unknown_keys
from protocol.chat import Message as ChatMessage
from protocol.social import Page
from tui import gc_policy
from tui.client_events import ClientEventReceived
from tui.css_cache import CACHE_NAME as CSS_CACHE
from tui.css_cache import CachedStylesheet
from tui.keys import read_alt_digits_as_keys
from tui.screens.home import PAGE as HOME_PAGE
from tui.screens.home import HomeScreen

LINK_LABELS = {
    State.CONNECTING: "connecting",
    State.CONNECTED: "connected",
    State.RECONNECTING: "reconnecting",
    State.CLOSED: "offline",
}


def _later(module: str, name: str) -> Callable[[], Screen[Any]]:
    """A mode's screen, its module imported when the mode is first shown: the cached
    timeline paints without waiting for Files, Explore or Messages to load
    (bench/tui_startup.py)."""

    def make() -> Screen[Any]:
        screen: Screen[Any] = getattr(importlib.import_module(module), name)()
        return screen

    return make


def _screen(module: str, name: str, *args: Any) -> Any:
    """An instance of a dialog or screen whose module is imported on first use."""
    return getattr(importlib.import_module(module), name)(*args)


# The modes whose screens ask the server again once the link is back (Messages and Files
# catch up on their own).
RELOADED_WHEN_ONLINE = ("home", "notifications", "explore", "devices")


class RoostApp(App[None]):
    CSS_PATH = "roost.tcss"
    TITLE = "Roost"
    MODES = {
        "home": HomeScreen,
        "notifications": _later("tui.screens.notifications", "NotificationsScreen"),
        "profile": _later("tui.screens.profile", "ProfileScreen"),
        "devices": _later("tui.screens.devices", "DevicesScreen"),
        "messages": _later("tui.screens.messages", "MessagesScreen"),
        "files": _later("tui.screens.files", "FilesScreen"),
        "explore": _later("tui.screens.explore", "ExploreScreen"),
    }
    BINDINGS = [
        # Help, Quit and the screens are shown by the status bar and the nav bar (the
        # footer keeps its room for each screen's own keys). Alt+N does what FN does:
        # desktop terminals take some F-keys, and laptops need fn for them.
        Binding("f1,alt+1,question_mark", "help", "Help", show=False, id="help"),
        Binding("f2,alt+2", "switch_mode('home')", "Home", show=False, id="home"),
        Binding("f3,alt+3", "switch_mode('notifications')", "Alerts", show=False, id="alerts"),
        Binding("f4,alt+4", "switch_mode('profile')", "Profile", show=False, id="profile"),
        Binding("f5,alt+5", "switch_mode('devices')", "Devices", show=False, id="devices"),
        Binding("f6,alt+6", "switch_mode('messages')", "Messages", show=False, id="messages"),
        Binding("f7,alt+7", "switch_mode('files')", "Files", show=False, id="files"),
        Binding("f8,alt+8", "switch_mode('explore')", "Explore", show=False, id="explore"),
        Binding("ctrl+t", "toggle_dark", "Theme", id="theme"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False, id="quit"),
        # Textual hands each key to the widget focused when the key arrives, and moves the
        # focus for Tab only once that widget has let Tab pass: "alice<Tab>secret" typed
        # faster than that put "alicesecret" in one field. Moving the focus here, before
        # any key is handed on, keeps the keys after Tab for the next field.
        Binding("tab", "focus_next", "Next field", priority=True, show=False),
        Binding("shift+tab", "focus_previous", "Previous field", priority=True, show=False),
        # Vim's j/k move in every list (a text field takes them as letters first).
        Binding("j", "in_list('cursor_down')", "Down", show=False),
        Binding("k", "in_list('cursor_up')", "Up", show=False),
    ]

    link_state: reactive[str] = reactive("offline")
    retry_at: reactive[float] = reactive(0.0)
    outbox_count: reactive[int] = reactive(0)
    unread_messages: reactive[int] = reactive(0)  # shown beside Messages in the nav bar
    unread_alerts: reactive[int] = reactive(0)  # beside Alerts

    def __init__(self, home: ClientHome, *, backoff: Backoff | None = None, connect: bool = True):
        super().__init__()
        # Parsed once per look and kept in the client home (tui/css_cache.py).
        variables = self.get_css_variables()
        self.stylesheet = CachedStylesheet(home.path / CSS_CACHE, variables=variables)
        read_alt_digits_as_keys()  # so Alt+1…8 reach the bindings below
        self.home = home
        self.client = RoostClient(home, open_timeout=3.0)
        self.listeners: set[Widget] = set()  # screens that hear the client's events
        self.first_home_page: Page | None = None  # the cached timeline, for Home's first paint
        self._backoff = backoff
        self._connect = connect
        self._css_refreshed_at = self._css_update_count  # the stylesheet is made for the theme

    def refresh_css(self, animate: bool = True) -> None:
        super().refresh_css(animate)
        self._css_refreshed_at = self._css_update_count

    def css_is_current(self) -> bool:
        """Whether the stylesheet holds every change of theme so far (none waits to be
        applied), so that a screen made now needs no refresh of the whole CSS."""
        return self._css_refreshed_at == self._css_update_count

    async def on_mount(self) -> None:
        self.set_timer(gc_policy.SETTLE_SECONDS, self._started)
        self._apply_settings()
        await self.client.__aenter__()
        if self.home.account() is None:
            self.push_screen(_screen("tui.screens.login", "LoginScreen"), self._signed_in)
        else:
            await self.start_session()

    def _started(self) -> None:
        """Once the first screen is painted: collection resumes (if `roost tui` held it), and
        what was parsed of the stylesheet is kept for the next start."""
        gc_policy.resume()
        self._keep_parsed_css()

    def _keep_parsed_css(self) -> None:
        if isinstance(self.stylesheet, CachedStylesheet):  # not replaced by a CSS reload
            self.stylesheet.save()

    def _apply_settings(self) -> None:
        """The theme and key choices saved in the client home; a change of theme (Ctrl+T,
        the command palette) is saved from then on."""
        settings, warning = load_settings(self.home)
        warnings = [warning] if warning else []
        if settings.theme is not None:
            if settings.theme in self.available_themes:
                self.theme = settings.theme
            else:
                warnings.append(f"{settings_path(self.home)}: no theme {settings.theme!r}")
        if settings.keys:
            ids = {b.id for b in self.BINDINGS if isinstance(b, Binding) and b.id}
            if unknown := unknown_keys(settings, ids):
                warnings.append(
                    f"{settings_path(self.home)}: no key action {', '.join(unknown)}"
                    f" (known: {', '.join(sorted(ids))})"
                )
            self.set_keymap({k: v for k, v in settings.keys.items() if k in ids})
        for text in warnings:
            self.notify(text, severity="warning", timeout=10)
        self.watch(self, "theme", self._save_theme, init=False)

    def _save_theme(self, theme: str) -> None:
        settings, warning = load_settings(self.home)
        if warning is not None:
            return  # a file someone must fix is not overwritten
        settings.theme = theme
        try:
            save_settings(self.home, settings)
        except OSError as exc:
            self.notify(f"cannot save the theme: {exc.strerror}", severity="warning")

    async def on_unmount(self) -> None:
        self._keep_parsed_css()  # an app closed within a second of starting, too
        await self.client.close()

    async def start_session(self) -> None:
        account = self.home.require_account()
        self.sub_title = clean(f"@{account.username} on {account.server}")
        try:  # read before Home is made, so its first layout already holds the posts
            self.first_home_page = await self.client.social.cached_home(HOME_PAGE)
        except ClientError:
            self.first_home_page = None
        await self.switch_mode("home")
        await self.refresh_outbox()
        self.refresh_unread()
        if self._connect:
            self.stay_connected()

    async def _signed_in(self, ok: bool | None) -> None:
        if ok:
            await self.start_session()

    async def signed_out(self) -> None:
        """After this device was logged out or revoked: back to the login screen."""
        if self.client.connection is not None:
            await self.client.connection.close()
        self.home.forget()
        await self.client.close()  # ends the old client's event stream
        self.client = RoostClient(self.home, open_timeout=3.0)
        await self.client.__aenter__()
        self.link_state = "offline"
        self.push_screen(_screen("tui.screens.login", "LoginScreen"), self._signed_in)

    # ------------------------------------------------------------------ connection
    @work(exclusive=True, group="link")
    async def stay_connected(self) -> None:
        """Keep the link up and hear the client's events meanwhile (the stream is open before
        the first connection, so nothing is missed)."""
        stream = self.client.events()
        hearing = asyncio.create_task(self._hear(stream))
        try:
            await self.client.stay_connected(backoff=self._backoff)
        except AuthRejected as exc:
            self.link_state = "offline"
            queued = await self.client.outbox.count()
            if isinstance(exc, AccountDisabled):  # logging in again will not help
                why = str(exc)
                question = f"{why[:1].upper()}{why[1:]}. Log out here, to use another account?"
            else:
                question = (
                    "The server refused this device: it was revoked, or the server's data was"
                    " reset. Log out here and sign in again?"
                )
            if queued:
                question += f" {queued} queued write(s) will be discarded."
            # Nothing is deleted without a yes: another device may still need this home's data.
            confirm = _screen("tui.screens.confirm", "ConfirmScreen", question, "Log out")
            self.push_screen(confirm, self._refused_answer)
        finally:
            stream.close()
            if hearing.done() and not hearing.cancelled() and (error := hearing.exception()):
                raise error  # a screen's handler failed: show it, as a worker's error
            hearing.cancel()

    async def _refused_answer(self, yes: bool | None) -> None:
        if yes:
            await self.signed_out()
        else:
            self.exit(message="This device is not logged in on the server; nothing was deleted.")

    # ------------------------------------------------------------------ events
    async def _hear(self, stream: EventStream) -> None:
        """Hand each of the client's events to the screens, until the stream ends."""
        async for event in stream:
            await self._heard(event)

    async def _heard(self, event: ClientEvent) -> None:
        match event:
            case LinkChanged(state=state, retry_in=delay, replayed=replayed):
                self._link_changed(State(state), delay)
                if replayed:
                    self._back_online()
            case WriteAcked():
                self.call_later(self.refresh_outbox)
            case NewMessage() | NewNotification():
                self.refresh_unread()
            case ReceiptChanged(receipt=receipt) if receipt.user == self._me():
                self.refresh_unread()  # read on another device
        self.broadcast(ClientEventReceived(event))
        match event:
            case NewNotification(notification=note) if self.current_mode != "notifications":
                self.alert(f"Roost: @{note.actor} {note.kind}")
            case NewMessage(message=message) if not self._messages_screen_listening():
                await self._alert_direct_message(message)  # once it listens, that screen alerts

    def _link_changed(self, state: State, delay: float) -> None:
        if state is State.RECONNECTING:
            self.retry_at = time.monotonic() + delay
        self.link_state = LINK_LABELS[state]
        if state is State.CONNECTED:
            self.call_later(self.refresh_outbox)

    def _me(self) -> str | None:
        account = self.home.account()
        return account.username if account is not None else None

    def _back_online(self) -> None:
        """The link is up and the outbox replayed: what each screen showed from the cache
        (or could not show) is asked for again, without waiting for Ctrl+R. Messages and
        Files catch up on their own."""
        self.refresh_unread()
        for mode in RELOADED_WHEN_ONLINE:
            for screen in self._screen_stacks.get(mode, [])[:1]:
                reload = getattr(screen, "action_reload", None)
                if screen in self.listeners and reload is not None:
                    reload()

    @work(exclusive=True, group="unread")
    async def refresh_unread(self) -> None:
        """The unread counts of the nav bar: the server's when it answers, else the cache's."""
        await asyncio.sleep(0.1)  # a burst of events asks once
        client = self.client
        try:
            conversations = await client.chat.conversations()
            self.unread_messages = sum(c.unread for c in conversations.result if c.member)
        except ClientError:
            pass
        try:
            notes = await client.social.notifications()
            self.unread_alerts = notes.result.unread
        except ClientError:
            pass

    def _messages_screen_listening(self) -> bool:
        messages = sys.modules.get("tui.screens.messages")  # not yet imported: not listening
        return messages is not None and any(
            isinstance(listener, messages.MessagesScreen) for listener in self.listeners
        )

    async def _alert_direct_message(self, message: ChatMessage) -> None:
        account = self.home.account()
        if message.kind != "text" or account is None or message.sender == account.username:
            return
        known = await self.client.chat.cached_conversations() or []
        kinds = {c.id: c.kind for c in known}
        if kinds.get(message.conversation, "direct") == "direct":
            self.alert(f"Roost: @{message.sender}: {message.text[:80]}")

    def alert(self, text: str) -> None:
        """Ring the terminal, and ask it for a desktop notification (OSC 9) where it can. The
        text is someone's message: inside the sequence it may hold no control character (a BEL
        there would end it, and what follows would run as the terminal's commands)."""
        self.bell()
        if not self.is_headless and self._driver is not None:
            self._driver.write(f"\x1b]9;{alert_text(text)}\x07")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast (widgets' and screens' `notify` land here) shows its words as they are:
        a server's message or a file name is never read as markup, and its control
        characters show as stand-ins."""
        super().notify(
            clean(message, multiline=True),
            title=clean(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def broadcast(self, message: ClientEventReceived) -> None:
        for listener in tuple(self.listeners):
            listener.post_message(message)

    async def refresh_outbox(self) -> None:
        try:
            self.outbox_count = await self.client.outbox.count()
        except ClientError:
            pass

    # ------------------------------------------------------------------ actions
    def action_retry_now(self) -> None:
        """The status bar's "retry now": reconnect at once instead of after the wait."""
        self.client.retry_now()

    def action_help(self) -> None:
        if type(self.screen).__name__ != "HelpScreen":
            self.push_screen(_screen("tui.screens.help", "HelpScreen"))

    async def action_in_list(self, action: str) -> None:
        """Move the cursor of the list that has the focus (ListView, Tree, DataTable…)."""
        focused = self.focused
        if focused is not None and hasattr(focused, f"action_{action}"):
            await self.run_action(action, focused)

    @work(exclusive=True, group="logout")
    async def action_logout(self) -> None:
        try:
            await self.client.call("auth.logout")
        except ClientError as exc:
            self.notify(f"cannot log out now: {exc}", severity="error")
            return
        await self.signed_out()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Home", "Your timeline", self._mode("home"))
        yield SystemCommand(
            "Notifications", "Mentions, replies, likes", self._mode("notifications")
        )
        yield SystemCommand("Profile", "Show and edit your profile", self._mode("profile"))
        yield SystemCommand("Devices", "Devices logged in to your account", self._mode("devices"))
        yield SystemCommand("Messages", "Direct and group chats", self._mode("messages"))
        yield SystemCommand("Files", "Your workspace: sync, history, sharing", self._mode("files"))
        yield SystemCommand("Explore", "Search, trending, who to follow", self._mode("explore"))
        yield SystemCommand("Help", "Keys and how Roost works", self.action_help)
        yield SystemCommand("Retry now", "Reconnect to the server now", self.action_retry_now)
        yield SystemCommand("Toggle theme", "Light or dark", self.action_toggle_dark)
        yield SystemCommand("Log out", "Revoke this device and forget it here", self.action_logout)

    def _mode(self, mode: str) -> Any:
        return lambda: self.switch_mode(mode)
