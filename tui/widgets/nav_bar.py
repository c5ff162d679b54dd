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

    def on_resize(self) -> None:
        self._draw()

    def _draw(self, *_args: object) -> None:
        shown = nav_items(self.app.BINDINGS, self._counts())
        width = self.size.width or self.app.size.width
        if sum(len(plain) for _mode, plain, _markup in shown) > width:
            shown = nav_items(self.app.BINDINGS, self._counts(), gap="")  # unread counts fit
        items = []
        for mode, _plain, markup in shown:
            if mode == self._here:
                items.append(f"[reverse]{markup}[/]")
            else:
                items.append(f"[@click=app.switch_mode('{mode}')]{markup}[/]")
        self.update("".join(items))

    def _counts(self) -> dict[str, int]:
        return {mode: getattr(self.app, name, 0) or 0 for mode, name in BADGES.items()}


def badge(count: int) -> str:
    """An unread count as shown beside its screen's name: `3`, `99+`."""
    return "99+" if count > 99 else str(count)


def nav_items(
    bindings: Sequence[Binding | tuple[str, ...]], counts: dict[str, int], gap: str = " "
) -> list[tuple[str, str, str]]:
    """(mode, plain text, markup) of each main screen's item: key, name and unread count.
    `gap=""` drops the space after each item, so the line with counts still fits 80 columns."""
    out = []
    for key, mode, label in screens(bindings):
        count = counts.get(mode, 0)
        plain = f" {key.upper()} {label}" + (f" {badge(count)}" if count else "") + gap
        markup = f" [b]{key.upper()}[/b] {label}"
        if count:
            markup += f" [b $warning]{badge(count)}[/]"
        out.append((mode, plain, markup + gap))
    return out


def screens(bindings: Sequence[Binding | tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(key, mode, label) of each binding that switches to a main screen, in their order."""
    out = []
    for b in bindings:
        if isinstance(b, Binding) and b.action.startswith(SWITCH):
            out.append((b.key.split(",")[0], b.action[len(SWITCH) : -2], b.description))
    return out
