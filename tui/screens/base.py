"""What every main screen shares: header, nav bar, status bar, footer, and hearing app
broadcasts."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Input

from tui.widgets.footer import RoostFooter
from tui.widgets.nav_bar import NavBar
from tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui.app import RoostApp


def letter_actions(bindings: Iterable[Binding | tuple[str, ...]]) -> frozenset[str]:
    """The actions bound to a single printable key ("l", "/", "?"): a person typing text
    presses those keys meaning the letters."""
    actions = set()
    for binding in bindings:
        if isinstance(binding, Binding):
            keys = binding.key.split(",")
            if any(len(k) == 1 or k in ("slash", "question_mark") for k in keys):
                actions.add(binding.action)
    return frozenset(actions)


def is_text_entry(widget: Widget | None) -> bool:
    # TextArea's module is large and Home has none: no TextArea exists until a screen that
    # has one has imported it (the cached timeline paints without it).
    text_area = sys.modules.get("textual.widgets._text_area")
    return isinstance(widget, Input) or (
        text_area is not None and isinstance(widget, text_area.TextArea)
    )


class RoostScreen(Screen[None]):
    """A main screen. Its single-letter commands act only while the focus is out of a text
    field (in a list, most often); in a field those letters are text, and the footer shows
    the commands dimmed."""

    def __init__(self) -> None:
        super().__init__()
        # Textual parses every stylesheet again, twice, when a mode's screen is first shown,
        # as if the screen had missed a change of theme. One made while the stylesheet holds
        # the current theme is styled from it when it mounts: nothing was missed.
        if self.roost.css_is_current():
            self._css_update_count = self.app._css_update_count

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar()
        yield from self.compose_body()
        yield StatusBar()
        yield RoostFooter()

    def compose_body(self) -> Iterable[Widget]:
        """The screen's own widgets, between the header and the status bar."""
        return ()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if is_text_entry(self.focused) and action in letter_actions(self.BINDINGS):
            return None  # shown dimmed, does nothing: the letter goes into the field
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()  # the footer dims or lights the letter commands

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    @property
    def roost(self) -> RoostApp:
        from tui.app import RoostApp

        assert isinstance(self.app, RoostApp)
        return self.app

    def on_mount(self) -> None:
        self.roost.listeners.add(self)

    def on_unmount(self) -> None:
        self.roost.listeners.discard(self)
