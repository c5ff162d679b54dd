"""outbox: writes waiting for the server, and ones it refused."""

from __future__ import annotations

from datetime import datetime

import msgspec
import typer
from rich.table import Table

from cli import output
from cli.options import AsJson
from cli.session import with_client
from client.core import RoostClient
from client.errors import ClientError
from client.outbox import OutboxEntry

app = typer.Typer(help="Writes queued while offline.", invoke_without_command=True)


@app.callback()
def list_entries(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List queued writes in the order they will be sent (none of this contacts the server)."""
    if ctx.invoked_subcommand is not None:
        return

    async def body(client: RoostClient) -> list[OutboxEntry]:
        return await client.outbox.entries()

    entries = with_client(body)
    if as_json:
        output.print_json([_as_dict(e) for e in entries])
        return
    if not entries:
        output.note("the outbox is empty")
        return
    table = Table("#", "op", "queued at", "attempts", "state")
    for e in entries:
        state = f"refused: {output.line(e.failed_message or '')}" if e.failed else "pending"
        table.add_row(str(e.seq), e.op, _time(e.created_at), str(e.attempts), state)
    output.stdout.print(table)


@app.command("drop")
def drop(seq: int) -> None:
    """Discard one queued write (for example one the server refused)."""

    async def body(client: RoostClient) -> bool:
        return await client.outbox.drop(seq)

    if not with_client(body):
        raise ClientError(f"no outbox entry #{seq}")
    output.note(f"dropped outbox entry #{seq}")


def _as_dict(e: OutboxEntry) -> dict[str, object]:
    return {
        "seq": e.seq,
        "op": e.op,
        "client_id": e.client_id,
        "args": msgspec.json.decode(e.args),
        "queued_at": datetime.fromtimestamp(e.created_at / 1000).astimezone().isoformat(),
        "attempts": e.attempts,
        "state": "refused" if e.failed else "pending",
        "error": {"code": e.failed_code, "message": e.failed_message} if e.failed else None,
    }


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
