"""Conflicted-copy names: `name (conflicted copy from DEVICE YYYY-MM-DD HHMMSS).ext`."""

from __future__ import annotations

import re
from datetime import datetime

_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")


def conflicted_copy_name(
    path: str, device: str, when: datetime, taken: set[str] | None = None
) -> str:
    """The path for the local copy that lost a race; stays in the same folder, keeps the
    extension, and never collides with a name in `taken`."""
    folder, _, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension, or a dot-file such as ".bashrc"
        stem, dot, ext = name, "", ""
    device = _UNSAFE.sub("_", device)[:64]
    label = f"conflicted copy from {device} {when:%Y-%m-%d %H%M%S}"
    taken = taken or set()
    for n in range(1, 1000):
        extra = "" if n == 1 else f" {n}"
        candidate = f"{stem} ({label}{extra}){dot}{ext}"
        full = f"{folder}/{candidate}" if folder else candidate
        if full not in taken:
            return full
    raise RuntimeError("too many conflicted copies of one file")
