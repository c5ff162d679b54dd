"""Devices: every device logged in to your account; revoke a lost one."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Static

from client.display import clean, safe_text
from client.errors import ClientError, ServerError
from protocol.accounts import DeviceList, RevokeDevice
from tui.screens.base import RoostScreen
from tui.screens.confirm import ConfirmScreen


class DevicesScreen(RoostScreen):
    BINDINGS = [Binding("r", "revoke", "Revoke"), Binding("ctrl+r", "reload", "Reload")]

    def compose_body(self) -> Iterable[Widget]:
        yield Static("Devices logged in to your account", classes="section-title")
        table: DataTable[str | Text] = DataTable(
            id="devices", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Static(id="devices-note")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#devices", DataTable)
        table.add_columns("name", "id", "logged in", "last seen", "")
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    @work(exclusive=True, group="devices")
    async def reload(self) -> None:
        note = self.query_one("#devices-note", Static)
        try:
            answer = await self.roost.client.read("devices.list", None, cache_key="mine")
        except ClientError as exc:
            note.update(safe_text(f"cannot list devices: {exc}"))
            return
        devices: DeviceList = answer.result
        table = self.query_one("#devices", DataTable)
        table.clear()
        for d in devices.devices:
            last = f"{d.last_seen_at:%Y-%m-%d %H:%M}" if d.last_seen_at else "-"
            table.add_row(
                safe_text(d.name),  # a str cell would be read as markup
                d.id,
                f"{d.created_at:%Y-%m-%d %H:%M}",
                last,
                "this device" if d.current else "",
                key=d.id,
            )
        note.update(
            "offline: the list may be out of date"
            if answer.offline
            else "r: revoke the selected device"
        )

    def action_revoke(self) -> None:
        table = self.query_one("#devices", DataTable)
        if table.row_count == 0:
            return
        row = table.get_row_at(table.cursor_row)
        name, device_id, current = clean(str(row[0])), str(row[1]), bool(row[4])
        question = f"Revoke {name} ({device_id})? Its token stops working at once." + (
            " This is the device you are using: you will be logged out." if current else ""
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.revoke(device_id, current)

        self.app.push_screen(ConfirmScreen(question, "Revoke"), answered)

    @work(exclusive=True, group="devices")
    async def revoke(self, device_id: str, current: bool) -> None:
        try:
            await self.roost.client.call("devices.revoke", RevokeDevice(device_id=device_id))
        except (ServerError, ClientError) as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"revoked {device_id}")
        if current:
            await self.roost.signed_out()
        else:
            self.reload()
