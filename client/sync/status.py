"""What `roost sync status` shows: the sync engine records each pass (when, what it did, what
it left pending, the error that stopped it) in the client home, and whether a sync is running
is read from the sync lock. Also the one-line totals of what a pass moved, in sizes people
read (`sent 1 block, 12 KiB`)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from client.sync.transfer import Counters
from protocol.sizes import format_size

STATUS_FILE = "sync-status.json"
STOPPED = "stopped before it finished (Ctrl-C or SIGTERM); the next pass goes on from there"


@dataclass(frozen=True)
class Totals:
    """What moved between two readings of a transfer's counters."""

    blocks_sent: int = 0
    content_sent: int = 0
    blocks_fetched: int = 0
    content_fetched: int = 0
    blocks_reused: int = 0

    @classmethod
    def between(cls, before: Totals | None, now: Counters | None) -> Totals:
        if now is None:
            return before or cls()
        start = before or cls()
        return cls(
            now.blocks_sent - start.blocks_sent,
            now.content_sent - start.content_sent,
            now.blocks_fetched - start.blocks_fetched,
            now.content_fetched - start.content_fetched,
            now.blocks_reused - start.blocks_reused,
        )

    @classmethod
    def of(cls, now: Counters | None) -> Totals:
        return cls.between(None, now)


def blocks(n: int, size: int | None = None) -> str:
    """`1 block, 12 KiB`; `0 blocks`."""
    counted = f"{n} block{'' if n == 1 else 's'}"
    return f"{counted}, {format_size(size)}" if n and size is not None else counted


def totals_line(t: Totals) -> str:
    """One line of what a pass moved: `sent 1 block, 12 KiB; fetched 0 blocks`."""
    said = f"sent {blocks(t.blocks_sent, t.content_sent)}; fetched"
    said += f" {blocks(t.blocks_fetched, t.content_fetched)}"
    if t.blocks_reused:
        said += f"; {blocks(t.blocks_reused)} re-used from disk"
    return said


def rate(n_bytes: int, seconds: float) -> str | None:
    """`3.2 MiB/s` over a span long enough to mean something; None under a tenth of a second
    (a pass that found every block on disk once showed 487.7 GB/s)."""
    if seconds < 0.1 or n_bytes <= 0:
        return None
    return f"{format_size(int(n_bytes / seconds))}/s"


class LastPass(msgspec.Struct, omit_defaults=True):
    """The engine's record of its last pass, as `roost sync status` reads it."""

    root: str
    finished_at_ms: int
    ok: bool
    error: str | None = None
    uploaded: int = 0
    downloaded: int = 0
    deleted: int = 0
    conflicts: int = 0
    pending: list[str] = msgspec.field(default_factory=list)  # "path: why", one a line
    totals: str = ""  # `totals_line` of the pass
    # The counts and totals above are of the last pass that changed something, at this
    # time (an idle pass of a running sync does not hide what the one before it did).
    changed_at_ms: int | None = None


def carry_over(new: LastPass, before: LastPass | None, *, acted: bool) -> LastPass:
    """`new`, keeping what the last pass that changed something did when this one changed
    nothing (same folder, no error)."""
    if acted or not new.ok or before is None or before.root != new.root:
        return msgspec.structs.replace(new, changed_at_ms=new.finished_at_ms if acted else None)
    return msgspec.structs.replace(
        new,
        uploaded=before.uploaded,
        downloaded=before.downloaded,
        deleted=before.deleted,
        conflicts=before.conflicts,
        totals=before.totals,
        changed_at_ms=before.changed_at_ms,
    )


def status_path(home: Path) -> Path:
    return home / STATUS_FILE


def record(home: Path, last: LastPass) -> None:
    """Write the record atomically (a status read mid-write sees the previous one)."""
    path = status_path(home)
    scratch = path.with_name(f"{path.name}.{os.getpid()}")
    with contextlib.suppress(OSError):  # a full disk must not stop the sync it describes
        scratch.write_bytes(msgspec.json.encode(last))
        os.replace(scratch, path)


def read(home: Path) -> LastPass | None:
    """The last pass recorded in this home, or None (never synced, or an unreadable file)."""
    try:
        return msgspec.json.decode(status_path(home).read_bytes(), type=LastPass)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def now_ms() -> int:
    return time.time_ns() // 1_000_000
