"""devices: list this account's devices; revoke one."""

from __future__ import annotations

import typer
from rich.table import Table

from cli import output
from cli.options import AsJson
from cli.session import with_client
from protocol.accounts import DeviceList, RevokeDevice

app = typer.Typer(help="List or revoke this account's devices.", invoke_without_command=True)


@app.callback()
def list_devices(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List the devices logged in to your account."""
    if ctx.invoked_subcommand is not None:
        return
    devices: DeviceList = with_client(lambda c: c.call("devices.list"))
    if as_json:
        output.print_json(devices.devices)
        return
    table = Table("id", "name", "created", "last seen", "")
    for d in devices.devices:
        table.add_row(
            d.id,
            output.line(d.name),
            output.when(d.created_at),
            output.when(d.last_seen_at),
            "this device" if d.current else "",
        )
    output.stdout.print(table)


@app.command("revoke")
def revoke(device_id: str) -> None:
    """Revoke a device: its token stops working and its connections close."""
    with_client(lambda c: c.call("devices.revoke", RevokeDevice(device_id=device_id)))
    output.note(f"revoked device {device_id}")
