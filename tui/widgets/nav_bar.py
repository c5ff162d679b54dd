"""The main screens and their keys (F2 Home … F8 Explore) on one line under the header, the
screen shown highlighted; a click switches too. The footer has no room for them on an
80-column terminal, where a new user would otherwise see no way to reach Messages or Files."""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding
from textual.widgets import Static

SWITCH = "switch_mode('"


BADGES = {"messages": "unread_messages", "notifications": "unread_alerts"}  # app reactives


class NavBar(Static):
    def on_mount(self) -> None:
        self._here = self.app.current_mode  # the mode this screen was shown in
        for name in BADGES.values():
            if hasattr(self.app, name):
                self.watch(self.app, name, self._draw, init=False)
        self._draw()

    def _draw(self, *_: object) -> None:
        here = self._here
        items = []
        for key, mode, label in screens(self.app.BINDINGS):
            count: int = getattr(self.app, BADGES.get(mode, ""), 0) or 0
            text = f" [b]{key.upper()}[/b] {label}{f' ({count})' if count else ''} "
            if mode == here:
                items.append(f"[reverse]{text}[/]")
            else:
                items.append(f"[@click=app.switch_mode('{mode}')]{text}[/]")
        self.update("".join(items))


def screens(bindings: Sequence[Binding | tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(key, mode, label) of each binding that switches to a main screen, in their order."""
    out = []
    for b in bindings:
        if isinstance(b, Binding) and b.action.startswith(SWITCH):
            out.append((b.key.split(",")[0], b.action[len(SWITCH) : -2], b.description))
    return out
