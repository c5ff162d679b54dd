"""Conflicted-copy names: `name (conflicted copy from DEVICE YYYY-MM-DD HHMMSS).ext`."""

from __future__ import annotations

import re
from dataclasses import dataclass
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


_COPY = re.compile(
    r"^(?P<stem>.*) \(conflicted copy from (?P<device>.+)"
    r" (?P<when>\d{4}-\d{2}-\d{2} \d{6})(?: (?P<n>\d+))?\)(?P<ext>\.[^./]*)?$"
)


@dataclass(frozen=True)
class CopyName:
    """What a conflicted copy's name says: the path it is a copy of, the device whose edit
    it holds and when that edit lost the race."""

    original: str
    device: str
    when: datetime


def parse_copy_name(path: str) -> CopyName | None:
    """The reverse of `conflicted_copy_name`; None for any other name."""
    folder, _, name = path.rpartition("/")
    m = _COPY.match(name)
    if m is None:
        return None
    try:
        when = datetime.strptime(m["when"], "%Y-%m-%d %H%M%S")
    except ValueError:
        return None
    original = m["stem"] + (m["ext"] or "")
    if not m["stem"]:
        return None
    return CopyName(f"{folder}/{original}" if folder else original, m["device"], when)
