"""The status bar: connected / offline / reconnecting in N s, the keys for help and quit, and
the outbox count."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class StatusBar(Horizontal):
    """Reads the app's `link_state`, `retry_at` and `outbox_count`, and keeps itself current."""

    def compose(self) -> ComposeResult:
        yield Static(id="link")
        yield Static("F1 help  ^q quit", id="keys")
        yield Static(id="outbox")

    def on_mount(self) -> None:
        self.watch(self.app, "link_state", self._refresh_view, init=True)
        self.watch(self.app, "outbox_count", self._refresh_view, init=False)
        self.set_interval(1.0, self._refresh_view)

    def _refresh_view(self, *_: object) -> None:
        app = self.app
        state: str = getattr(app, "link_state", "offline")
        link = self.query_one("#link", Static)
        link.set_classes(f"link-{state}")
        if state == "reconnecting":
            seconds = max(0, round(getattr(app, "retry_at", 0.0) - time.monotonic()))
            link.update(f"● reconnecting in {seconds} s · [@click=app.retry_now]retry now[/]")
        else:
            link.update(f"● {state}")
        count: int = getattr(app, "outbox_count", 0)
        self.query_one("#outbox", Static).update(f"outbox: {count}" if count else "outbox: empty")
