"""roost conflicts: the conflicted copies in your files, a diff of one, and resolving one
everywhere (thin over client.conflict_inbox)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import output
from cli.options import AsJson
from cli.session import with_client
from client.errors import ClientError

if TYPE_CHECKING:
    from client.core import RoostClient

app = typer.Typer(
    help="Conflicted copies: list them, diff one, keep mine, theirs or both.",
    invoke_without_command=True,
)


def _inbox(client: RoostClient) -> Any:
    from client.conflict_inbox import ConflictInbox

    return ConflictInbox(client.files)


def _side(device: str, ms: int) -> str:
    from client.conflict_inbox import when_of

    return f"{device}, {when_of(ms):%Y-%m-%d %H:%M:%S}"


@app.callback()
def list_conflicts(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Every conflicted copy in your files (shared folders too), with both sides' device and
    time: "mine" is the copy (the edit that lost the race), "theirs" the file at its path."""
    if ctx.invoked_subcommand is not None:
        return
    found = with_client(lambda c: _inbox(c).all())
    if as_json:
        output.print_json(
            {
                "conflicts": [
                    {
                        "path": c.path,
                        "copy": c.copy_path,
                        "mine": {"device": c.copy.device, "mtime_ms": c.copy.mtime_ms},
                        "theirs": None
                        if c.original is None
                        else {"device": c.original.device, "mtime_ms": c.original.mtime_ms},
                    }
                    for c in found
                ]
            }
        )
        return
    if not found:
        output.note("no conflicted copies")
        return
    rows = [
        [
            c.path,
            c.copy_path,
            _side(c.name.device, c.copy.mtime_ms),
            "deleted" if c.original is None else _side(c.original.device, c.original.mtime_ms),
        ]
        for c in found
    ]
    output.table(["file", "conflicted copy", "mine (device, time)", "theirs (device, time)"], rows)
    output.note(
        "roost conflicts diff PATH shows one; roost conflicts keep PATH --mine|--theirs|--both"
        " resolves it on every device"
    )


@app.command("diff")
def diff(
    path: Annotated[str, typer.Argument(help="The conflicted copy, or the file it copies.")],
) -> None:
    """A text diff from the file (theirs) to its conflicted copy (mine)."""
    from client.display import clean

    # Both sides may be someone else's words: an escape sequence in them is shown, never sent
    # to the terminal (newlines and tabs kept).
    sys.stdout.write(clean(with_client(lambda c: _inbox(c).diff(path)), multiline=True))


@app.command("keep")
def keep(
    path: Annotated[str, typer.Argument(help="The conflicted copy, or the file it copies.")],
    mine: Annotated[
        bool, typer.Option("--mine", help="The copy's content becomes the file's.")
    ] = False,
    theirs: Annotated[
        bool, typer.Option("--theirs", help="The file stays as it is; the copy goes.")
    ] = False,
    both: Annotated[
        bool, typer.Option("--both", help="Keep both: the copy gets a plain name of its own.")
    ] = False,
) -> None:
    """Resolve a conflict everywhere: on the server, so on every device at its next sync.

    The copy stays in roost files history either way."""
    chosen = [name for name, on in (("mine", mine), ("theirs", theirs), ("both", both)) if on]
    if len(chosen) != 1:
        raise ClientError("say which to keep: exactly one of --mine, --theirs or --both")
    done = with_client(lambda c: _inbox(c).keep(path, chosen[0]))
    said = {
        "mine": f"{done.path} now holds the copy's content; the copy is removed",
        "theirs": f"kept {done.path} as it is; removed {done.copy_path}",
        "both": f"kept both: {done.copy_path} has a name of its own now",
    }[chosen[0]]
    output.note(f"{said} (every device follows at its next sync)")
