"""The server's limits as the client sees them, checked before bytes are sent for nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
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
    if usage.max_uncommitted_bytes is not None and size > usage.max_uncommitted_bytes:
        return (
            f"{name} is {format_size(size)}; this server takes at most"
            f" {format_size(usage.max_uncommitted_bytes)} of uploads before their commit"
        )
    return None


def entries_problem(usage: Usage | None, adding: int = 1) -> str | None:
    """Why the server would refuse `adding` more entries of the caller's (as server.quota)."""
    if usage is None or usage.max_entries is None or usage.entries + adding <= usage.max_entries:
        return None
    return (
        f"too many entries: {usage.entries:,} kept of this server's limit of"
        f" {usage.max_entries:,} (file versions, deletions and attachments);"
        " purge old versions to make room"
    )


UPLOAD_GROUP_BYTES = 1 << 30


def upload_group_bytes(usage: Usage | None) -> int | None:
    """How many bytes of files a sync uploads before it commits them: a quarter of what the
    server lets wait for a commit (blocks sent ahead while files are hashed may take as much
    again), at most 1 GiB. None: no limit known, everything in one go."""
    if usage is None or usage.max_uncommitted_bytes is None:
        return None
    return max(min(UPLOAD_GROUP_BYTES, usage.max_uncommitted_bytes // 4), 1)


def upload_groups(sizes: Sequence[int], budget: int | None) -> list[list[int]]:
    """The indexes of `sizes` in groups to upload and commit one after the other: smallest
    first, each group at most `budget` bytes or a single larger file. The largest files go
    last, when everything before them is committed and the most room is free."""
    if not sizes:
        return []
    if budget is None or sum(sizes) <= budget:
        return [list(range(len(sizes)))]  # one go, in the order given
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    groups: list[list[int]] = []
    total = 0
    for i in order:
        if not groups or total + sizes[i] > budget:
            groups.append([])
            total = 0
        groups[-1].append(i)
        total += sizes[i]
    return groups


def quota_problem(size: int, usage: Usage | None) -> str | None:
    if usage is None or usage.quota_bytes is None or usage.used_bytes + size <= usage.quota_bytes:
        return None
    return (
        f"quota exceeded: {format_size(usage.used_bytes)} of {format_size(usage.quota_bytes)}"
        f" used; this needs {format_size(size)} more"
    )


def early_send_bytes(usage: Usage | None) -> int | None:
    """How many bytes of blocks a sync sends while it is still hashing, per pass: half of what
    the server lets wait for a commit (with a group being committed, at most three quarters
    wait at once). A big file's blocks travel, and stream to other devices, as it is read,
    up to this much of it. None: no limit known."""
    if usage is None or usage.max_uncommitted_bytes is None:
        return None
    return max(usage.max_uncommitted_bytes // 2, 1)
