"""The limits a user runs into, as plain rules: text length, file size, storage quota, entries,
uploads waiting for a commit, staged block lists.

What counts against a user, all of it measured by the server, never taken from a client:
- bytes (`--quota`): the logical size (bytes as the files are, before dedup and compression)
  of every version kept in namespaces they own, current and old, plus their attachments.
  A version's size is the sum of its blocks' raw sizes, as the server measured each block
  when it verified the upload; a commit declaring another size is refused (`size_problem`).
  Writes into a share count against the share's owner. Deletions free nothing until the old
  versions are purged (`files.purge`), because every version stays restorable until then.
- entries (`--max-entries`): how many versions they keep (files, folders, deletions, old
  versions) in namespaces they own, plus their attachments. Each costs database rows whatever
  its size, so 20,000 empty files are 20,000 entries. Deletions are never refused, so a user
  at the limit can still clean up (then purge to free entries).
- uncommitted bytes (`--max-uncommitted`): the raw size of blocks they uploaded that no
  commit or attachment of theirs used yet. Uploads are refused once at the limit; committing
  frees the room, and uploads no commit uses expire (storage.server.expiry).
- staged blocks: rows of `files.stage` lists not committed yet (a fixed limit, in code).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.errors import ErrorCode, RoostError
from protocol.sizes import format_size
from storage.server.expiry import HOUR_MS


def check_text_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise RoostError(ErrorCode.INVALID_ARGS, f"text is too long (at most {limit} characters)")


def check_file_size(size: int, limit: int | None) -> None:
    if limit is not None and size > limit:
        raise RoostError(
            ErrorCode.TOO_LARGE,
            f"a file of {format_size(size)} is over this server's limit of {format_size(limit)}",
        )


def size_problem(declared: int, counted: int) -> str | None:
    """Why a declared size is refused: it must be what the blocks hold."""
    if declared == counted:
        return None
    return (
        f"size {declared:,} does not match the {counted:,} bytes its blocks hold"
        " (the server counts sizes from the blocks)"
    )


class QuotaCheck:
    """Counts a write's bytes and entries against its owner's limits, item by item, as they
    are accepted."""

    def __init__(
        self,
        used: int,
        quota: int | None,
        *,
        entries: int = 0,
        max_entries: int | None = None,
        owner_is_caller: bool = True,
    ) -> None:
        self.used = used
        self.quota = quota
        self.entries = entries
        self.max_entries = max_entries
        self.owner_is_caller = owner_is_caller

    @property
    def _whose(self) -> str:
        return "" if self.owner_is_caller else " (the share owner's)"

    def take(self, size: int, entries: int = 0) -> None:
        """Count `size` more bytes and `entries` more entries, or raise quota_exceeded and
        count nothing."""
        if self.quota is not None and self.used + size > self.quota:
            raise RoostError(
                ErrorCode.QUOTA_EXCEEDED,
                f"quota exceeded{self._whose}: {format_size(self.used)} of"
                f" {format_size(self.quota)} used; this needs {format_size(size)} more",
            )
        if self.max_entries is not None and self.entries + entries > self.max_entries:
            raise RoostError(
                ErrorCode.QUOTA_EXCEEDED,
                f"too many entries{self._whose}: {self.entries:,} kept of this server's limit"
                f" of {self.max_entries:,} (file versions, deletions and attachments);"
                " purge old versions to make room",
            )
        self.used += size
        self.entries += entries

    def count(self, entries: int) -> None:
        """Count entries that are never refused (deletions)."""
        self.entries += entries


def uncommitted_cap(
    max_uncommitted: int | None, max_file: int | None, quota: int | None
) -> int | None:
    """The most a user may have uploaded and not committed: the operator's figure, raised to
    the largest file allowed (such a file must fit before its commit), lowered to the quota
    (no more could ever be committed). None: no limit."""
    cap = max_uncommitted
    if cap is not None and max_file is not None:
        cap = max(cap, max_file)
    if quota is not None:
        cap = quota if cap is None else min(cap, quota)
    return cap


def check_uncommitted(pending: int, cap: int | None, age_ms: int) -> None:
    """Refuse an upload once the user's uploads waiting for a commit reach the cap."""
    if cap is not None and pending >= cap:
        raise RoostError(
            ErrorCode.QUOTA_EXCEEDED,
            f"uploads waiting for a commit are at this server's limit: {format_size(pending)}"
            f" of {format_size(cap)}; commit them, or they expire after {_hours(age_ms)}",
        )


ROOM_RECHECK_BYTES = 32 << 20
ROOM_RECHECK_S = 0.25


@dataclass
class UploadRoom:
    """What a connection may still upload before the uncommitted cap is read again: the room
    the last read showed, less what came since, for ROOM_RECHECK_S, and only while that room
    is more than ROOM_RECHECK_BYTES (near the cap, every upload is checked)."""

    unchecked: int  # bytes that may come before the next read
    until: float  # time.monotonic() after which the next upload reads again

    @classmethod
    def after_check(cls, room: int, now: float) -> UploadRoom:
        return cls(min(room - ROOM_RECHECK_BYTES, ROOM_RECHECK_BYTES), now + ROOM_RECHECK_S)

    def allows(self, incoming: int, now: float) -> bool:
        if now >= self.until or incoming > self.unchecked:
            return False
        self.unchecked -= incoming
        return True


def check_staged(count: int, cap: int, age_ms: int) -> None:
    """Refuse a files.stage page that would take the user's staged rows past the cap."""
    if count > cap:
        raise RoostError(
            ErrorCode.QUOTA_EXCEEDED,
            f"too many staged blocks: this needs {count:,} of this server's limit of {cap:,};"
            f" commit what is staged, or it expires after {_hours(age_ms)}",
        )


def _hours(ms: int) -> str:
    hours = ms / HOUR_MS
    return f"{hours:g} h" if hours >= 1 else f"{ms / 60_000:g} min"
