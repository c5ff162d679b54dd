"""devices: list this account's devices; revoke one."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import output, typed_ids
from cli.options import AsJson
from cli.session import with_client

app = typer.Typer(help="List or revoke this account's devices.", invoke_without_command=True)

DeviceId = Annotated[
    str,
    typer.Argument(
        help="A device id, its last 6+ digits, or #N from roost devices.",
        callback=typed_ids.callback("device"),
    ),
]


@app.callback()
def list_devices(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List the devices logged in to your account."""
    if ctx.invoked_subcommand is not None:
        return
    from protocol.accounts import DeviceList

    devices: DeviceList = with_client(lambda c: c.call("devices.list"))
    typed_ids.remember("device", [d.id for d in devices.devices])
    if as_json:
        output.print_json({"devices": devices.devices})
        return
    rows = [
        [
            d.id,
            d.name,
            output.when(d.created_at),
            output.when(d.last_seen_at),
            "this device" if d.current else "",
        ]
        for d in devices.devices
    ]
    output.table(["#", "id", "name", "created", "last seen", "this"], output.numbered(rows))


@app.command("revoke")
def revoke(device_id: DeviceId) -> None:
    """Revoke a device: its token stops working and its connections close."""
    from protocol.accounts import RevokeDevice

    with_client(lambda c: c.call("devices.revoke", RevokeDevice(device_id=device_id)))
    output.note(f"revoked device {device_id}")
