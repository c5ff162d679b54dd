"""A file's versions, newest first (deleted ones too), and restoring a chosen one: the server
makes it current again as a new version, so nothing is lost either way."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from client.core import RoostClient
from client.display import safe_text
from client.errors import ClientError, ServerError
from client.files import Located
from protocol import files as wire

if TYPE_CHECKING:
    from tui.app import RoostApp
from tui.widgets.files import size_text


class FileHistoryScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("r", "restore", "Restore"),
    ]

    def __init__(self, where: Located, shown: str) -> None:
        super().__init__()
        self.where = where
        self.shown = shown
        self.versions: list[wire.Entry] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box"):
            yield Static(safe_text(f"History of {self.shown}"), classes="section-title")
            table: DataTable[str | Text] = DataTable(
                id="versions", cursor_type="row", zebra_stripes=True
            )
            yield table
            yield Static("", id="history-note")
            with Horizontal(id="history-actions"):
                yield Button("Restore", id="restore", variant="primary")
                yield Button("Close", id="close")

    @property
    def roost(self) -> RoostApp:
        from tui.app import RoostApp

        assert isinstance(self.app, RoostApp)
        return self.app

    @property
    def client(self) -> RoostClient:
        return self.roost.client

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#versions", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns("version", "saved", "size", "from device", "")
        self.table.focus()
        self.load()

    @work(exclusive=True, group="history")
    async def load(self) -> None:
        try:
            answer = await self.client.files.versions(self.where)
        except ClientError as exc:
            self._note(f"cannot read the history: {exc}")
            return
        self.versions = answer.result.versions
        self.table.clear()
        for i, v in enumerate(self.versions):
            when = datetime.fromtimestamp(v.created_at_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
            size = "deleted" if v.deleted else size_text(v.size)
            self.table.add_row(
                v.version_id,
                when,
                size,
                safe_text(v.device),  # whoever made it: a str cell would be read as markup
                "current" if i == 0 else "",
                key=v.version_id,
            )
        older = [i for i, v in enumerate(self.versions) if i and not v.deleted]
        if older:
            self.table.move_cursor(row=older[0])  # the last content before now: what one restores
        self._note(
            ("offline: the list may be out of date · " if answer.offline else "")
            + "r or Restore: make the selected version current again (a new version)"
        )

    def _selected(self) -> wire.Entry | None:
        row = self.table.cursor_row
        return self.versions[row] if 0 <= row < len(self.versions) else None

    def action_close(self) -> None:
        self.dismiss(False)

    def action_restore(self) -> None:
        version = self._selected()
        if version is None:
            return
        if version is self.versions[0]:
            self._note("that is already the current version")
            return
        if version.deleted:
            self._note("that version is a deletion: pick one before it")
            return
        self.restore(version)

    @work(exclusive=True, group="history-restore")
    async def restore(self, version: wire.Entry) -> None:
        args = wire.Restore(self.where.namespace.id, self.where.path, version.version_id)
        try:
            written = await self.client.write("files.restore", args)
        except ServerError as exc:
            self._note(exc.message)
            return
        if written.queued:
            self.notify(f"queued: {self.shown} is restored when the server is back")
            await self.roost.refresh_outbox()
        else:
            self.notify(f"restored {self.shown} to version {version.version_id}")
        self.dismiss(True)

    @on(Button.Pressed, "#restore")
    def _restore_pressed(self) -> None:
        self.action_restore()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.dismiss(False)

    def _note(self, text: str) -> None:
        self.query_one("#history-note", Static).update(safe_text(text))
