"""The lines `roost usage` adds to say what its storage figure holds: current files, old
versions and attachments, each as the files are and as the server keeps them."""

from __future__ import annotations

from typing import Any

from cli import output
from client.core import RoostClient
from client.errors import ServerError
from protocol.errors import ErrorCode


async def space_use(client: RoostClient) -> tuple[Any, Any]:
    """account.usage, and files.usage where the server has it (None from an older one)."""
    found = await client.call("account.usage")
    try:
        space = await client.call("files.usage")
    except ServerError as exc:
        if exc.code != ErrorCode.UNKNOWN_OP:
            raise
        space = None
    return found, space


def _stored(logical: int, stored: int) -> str:
    if stored >= logical:
        return output.size(logical)
    return f"{output.size(logical)} ({output.size(stored)} stored: identical content once)"


def space_lines(space: Any) -> list[str]:
    if space is None:
        return []
    n, old, att = space.current_files, space.old_versions, space.attachments
    return [
        f"  current files: {n:,} file{'' if n == 1 else 's'},"
        f" {_stored(space.current_bytes, space.current_stored)}",
        f"  kept versions: {old:,} (edits, deletions and folders),"
        f" {output.size(space.old_bytes)}; {output.size(space.old_stored)} not also in a"
        " current file",
        f"  attachments: {att:,}, {output.size(space.attachment_bytes)}",
        "  (the quota counts every kept version and attachment at its size; roost files purge"
        " frees old versions)",
    ]
