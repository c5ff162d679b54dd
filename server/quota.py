"""The limits a user runs into, as plain rules: text length, file size, storage quota.

A user's usage is the logical size (bytes as the files are, before dedup and compression) of
every version kept in namespaces they own, current and old, plus their post attachments.
Writes into a share count against the share's owner. Deletions free nothing until the old
versions are purged (`files.purge`), because every version stays restorable until then.
"""

from __future__ import annotations

from protocol.errors import ErrorCode, RoostError
from protocol.sizes import format_size


def check_text_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise RoostError(ErrorCode.INVALID_ARGS, f"text is too long (at most {limit} characters)")


def check_file_size(size: int, limit: int | None) -> None:
    if limit is not None and size > limit:
        raise RoostError(
            ErrorCode.TOO_LARGE,
            f"a file of {format_size(size)} is over this server's limit of {format_size(limit)}",
        )


class QuotaCheck:
    """Counts a write's bytes against its owner's quota, item by item, as they are accepted."""

    def __init__(self, used: int, quota: int | None, *, owner_is_caller: bool = True) -> None:
        self.used = used
        self.quota = quota
        self.owner_is_caller = owner_is_caller

    def take(self, size: int) -> None:
        """Count `size` more bytes, or raise quota_exceeded and count nothing."""
        if self.quota is not None and self.used + size > self.quota:
            whose = "" if self.owner_is_caller else " (the share owner's)"
            raise RoostError(
                ErrorCode.QUOTA_EXCEEDED,
                f"quota exceeded{whose}: {format_size(self.used)} of"
                f" {format_size(self.quota)} used; this needs {format_size(size)} more",
            )
        self.used += size
