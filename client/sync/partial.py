"""Downloads interrupted part-way (Ctrl-C, SIGTERM) are kept beside their destination as a
partial file plus the list of blocks it holds, so the next try reads those blocks from disk
instead of fetching them again. Both names start with the engine's temp prefix: never
synced, never shown as a file of the workspace; a partial nobody resumes is swept once a pass
has finished with nothing left to do."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from protocol.files import TEMP_PREFIX

PARTIAL_PREFIX = TEMP_PREFIX + "partial-"
BLOCKS_SUFFIX = ".blocks"


def partial_path(dest: Path) -> Path:
    """Where a download of `dest` keeps what it fetched when interrupted (one per name)."""
    digest = hashlib.sha256(dest.name.encode()).hexdigest()[:20]
    return dest.with_name(PARTIAL_PREFIX + digest)


def _blocks_path(partial: Path) -> Path:
    return partial.with_name(partial.name + BLOCKS_SUFFIX)


def is_partial(name: str) -> bool:
    return name.startswith(PARTIAL_PREFIX)


def read_partial(dest: Path) -> tuple[Path, list[tuple[str, int]]] | None:
    """The partial file of `dest` and its (hash, length) blocks in order, or None. A damaged
    list counts as none: each block is checked against its hash when read anyway."""
    partial = partial_path(dest)
    try:
        listed = json.loads(_blocks_path(partial).read_text())
        chunks = [(str(h), int(n)) for h, n in listed]
        if partial.stat().st_size < sum(n for _, n in chunks):
            return None
    except (OSError, ValueError, TypeError):
        return None
    return partial, chunks


def keep_partial(tmp: Path, dest: Path, chunks: list[tuple[str, int]]) -> bool:
    """Keep a download's temp file (its first `chunks` written and flushed) as the partial of
    `dest`, unless the one already there holds more; returns whether it was kept. The block
    list is written first: a partial without one is never trusted."""
    before = read_partial(dest)
    if not chunks or (before is not None and len(before[1]) >= len(chunks)):
        return False
    partial = partial_path(dest)
    listing = _blocks_path(partial)
    scratch = listing.with_name(listing.name + ".new")
    scratch.write_text(json.dumps(chunks))
    os.replace(tmp, partial)
    os.replace(scratch, listing)
    return True


def drop_partial(dest: Path) -> None:
    """Forget the partial of `dest` (it landed whole, or is no longer wanted)."""
    partial = partial_path(dest)
    for path in (_blocks_path(partial), partial):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def drop_partials(found: list[Path]) -> None:
    """Remove partials (and their lists) found at start-up that no download resumed."""
    for path in found:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
