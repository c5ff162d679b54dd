"""The server's limits as the client sees them, checked before bytes are sent for nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from client.errors import ServerError
from protocol.accounts import Usage
from protocol.errors import ErrorCode
from protocol.sizes import format_size

Call = Callable[[str], Awaitable[Any]]


async def fetch_usage(call: Call) -> Usage | None:
    """The caller's usage and limits; None from a server too old to say."""
    try:
        usage: Usage = await call("account.usage")
    except ServerError as exc:
        if exc.code == ErrorCode.UNKNOWN_OP:
            return None
        raise
    return usage


def upload_problem(name: str, size: int, usage: Usage | None) -> str | None:
    """Why the server would refuse a file of `size` bytes, or None. Only the caller's own
    quota is known here; a share's owner's quota is the server's to check."""
    if usage is None:
        return None
    if usage.max_file_bytes is not None and size > usage.max_file_bytes:
        return (
            f"{name} is {format_size(size)}; this server takes files up to"
            f" {format_size(usage.max_file_bytes)}"
        )
    return None


def quota_problem(size: int, usage: Usage | None) -> str | None:
    if usage is None or usage.quota_bytes is None or usage.used_bytes + size <= usage.quota_bytes:
        return None
    return (
        f"quota exceeded: {format_size(usage.used_bytes)} of {format_size(usage.quota_bytes)}"
        f" used; this needs {format_size(size)} more"
    )
