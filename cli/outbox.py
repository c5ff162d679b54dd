"""outbox: writes waiting for the server, and ones it refused."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from cli import output
from cli.options import AsJson
from cli.session import with_client
from client.errors import ClientError
from client.outbox import OutboxEntry

if TYPE_CHECKING:
    from client.core import RoostClient

app = typer.Typer(help="Writes queued while offline.", invoke_without_command=True)


@app.callback()
def list_entries(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List queued writes in the order they will be sent, each with what it will do (none of
    this contacts the server)."""
    if ctx.invoked_subcommand is not None:
        return

    async def body(client: RoostClient) -> list[OutboxEntry]:
        return await client.outbox.entries()

    entries = with_client(body)
    if as_json:
        output.print_json({"entries": [_as_dict(e) for e in entries]})
        return
    if not entries:
        output.note("the outbox is empty")
        return
    rows = []
    for e in entries:
        state = f"refused: {e.failed_message or ''}" if e.failed else "pending"
        rows.append([str(e.seq), _what(e), _time(e.created_at), str(e.attempts), state])
    output.table(["#", "what", "queued at", "attempts", "state"], rows)


@app.command("drop")
def drop(seq: int) -> None:
    """Discard one queued write (for example one the server refused)."""

    async def body(client: RoostClient) -> bool:
        return await client.outbox.drop(seq)

    if not with_client(body):
        raise ClientError(f"no outbox entry #{seq}")
    output.note(f"dropped outbox entry #{seq}")


def _args(e: OutboxEntry) -> Any:
    import msgspec

    return msgspec.json.decode(e.args)


def _what(e: OutboxEntry) -> str:
    from client.write_wording import describe_write

    args = _args(e)
    return describe_write(e.op, args if isinstance(args, dict) else {})


def _as_dict(e: OutboxEntry) -> dict[str, object]:
    return {
        "seq": e.seq,
        "what": _what(e),
        "op": e.op,
        "client_id": e.client_id,
        "args": _args(e),
        "queued_at": datetime.fromtimestamp(e.created_at / 1000).astimezone().isoformat(),
        "attempts": e.attempts,
        "state": "refused" if e.failed else "pending",
        "error": {"code": e.failed_code, "message": e.failed_message} if e.failed else None,
    }


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
