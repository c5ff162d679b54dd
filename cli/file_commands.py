"""roost files rm / mkdir / cat / mv, and the folder forms of files get -r and files put:
thin over client.file_commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import output
from cli.options import AsJson
from cli.session import with_client
from client.core import RoostClient


def _commands(client: RoostClient) -> Any:
    from client.file_commands import FileCommands

    return FileCommands(client.files)


def rm(
    path: Annotated[str, typer.Argument(help="A file, or a folder with -r.")],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="A folder, with everything in it.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Delete a file, or a folder with -r (roost files restore brings it back).

    Deleted on the server, and on every device at its next sync."""
    removed = with_client(lambda c: _commands(c).remove(path, recursive=recursive))
    if as_json:
        output.print_json({"removed": removed})
        return
    shown = output.line(removed[0]) if len(removed) == 1 else f"{len(removed)} files and folders"
    output.note(f"removed {shown} (roost files history and restore keep them)")


def mkdir(path: Annotated[str, typer.Argument(help="The new folder.")]) -> None:
    """Make an empty folder (and the folders above it)."""
    entry = with_client(lambda c: _commands(c).make_folder(path))
    output.note(f"made {output.line(entry.path)}/")


def cat(path: Annotated[str, typer.Argument(help="The file to print.")]) -> None:
    """Write a file's contents to stdout (for a pipe: roost files cat notes.txt | less)."""
    out = sys.stdout.buffer

    def write(data: Any) -> None:
        out.write(data)

    try:
        with_client(lambda c: _commands(c).cat(path, write))
        out.flush()
    except BrokenPipeError:  # the reader has what it wanted (| head): stop, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush


def mv(
    src: Annotated[str, typer.Argument(help="The file or folder to move or rename.")],
    dst: Annotated[str, typer.Argument(help="Its new path, or a folder to move it into.")],
    as_json: AsJson = False,
) -> None:
    """Rename or move a file or folder; its history goes with it.

    Inside your files, or inside one shared folder; nothing is uploaded again."""
    entries = with_client(lambda c: _commands(c).move(src, dst))
    if as_json:
        output.print_json({"entries": entries})
        return
    output.note(f"moved {output.line(src)} -> {output.line(entries[0].path)}")


def register(files_app: typer.Typer) -> None:
    for command in (rm, mkdir, cat, mv):
        files_app.command(command.__name__)(command)


# ---------------------------------------------------------------------------- folders
@contextmanager
def _bar(total: int, what: str) -> Iterator[Any]:
    """A progress bar whose total is known (the bytes of every file), on a terminal only."""
    if not output.stderr.is_terminal:
        yield None
        return
    from cli.progress_rate import bytes_bar

    bar = bytes_bar(output.stderr)
    with bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.advance(task, n)


def get_folder(path: str, out: Path | None, force: bool) -> None:
    """roost files get -r: a folder with everything in it."""

    async def body(client: RoostClient) -> tuple[int, int]:
        commands = _commands(client)
        plan = await commands.plan_get(path, out or Path(), force=force)
        total = sum(t.size for t in plan)
        with _bar(total, "downloading") as on_bytes:
            await commands.get_folder(plan, on_bytes)
        if plan:
            output.note(f"{output.line(path)} -> {output.line(str(plan[0].local.parent))}")
        return len(plan), total

    count, total = with_client(body)
    output.note(f"{count} file{'' if count == 1 else 's'}, {output.size(total)}")


def put_folder(local: Path, path: str | None, as_json: bool) -> None:
    """roost files put DIR: a folder with everything in it."""

    async def body(client: RoostClient) -> tuple[str, list[Any]]:
        commands = _commands(client)
        top, _, files = commands.plan_put(local, path)
        total = sum(f.stat().st_size for f in files)
        with _bar(total, "uploading") as on_bytes:
            entries: list[Any] = await commands.put_folder(local, path, on_bytes)
        return top, entries

    top, entries = with_client(body)
    if as_json:
        output.print_json({"entries": entries})
        return
    files = [e for e in entries if e.kind == "file"]
    size = sum(e.size for e in files)
    output.note(
        f"{local} -> {output.line(top)}: {len(files)} file{'' if len(files) == 1 else 's'},"
        f" {output.size(size)}"
    )
