"""What every main screen shares: header, nav bar, status bar, footer, and hearing app
broadcasts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header

from tui.widgets.nav_bar import NavBar
from tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui.app import RoostApp


class RoostScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar()
        yield from self.compose_body()
        yield StatusBar()
        yield Footer()

    def compose_body(self) -> Iterable[Widget]:
        """The screen's own widgets, between the header and the status bar."""
        return ()

    @property
    def roost(self) -> RoostApp:
        from tui.app import RoostApp

        assert isinstance(self.app, RoostApp)
        return self.app

    def on_mount(self) -> None:
        self.roost.listeners.add(self)

    def on_unmount(self) -> None:
        self.roost.listeners.discard(self)
