"""A process's resident memory split by the kind of mapping it sits in (Linux, /proc/PID/smaps).

The load benchmark uses it to say where RSS grows when everything the server can count
(SQLite, the C heap in use, Python's blocks) stays flat:
- main heap: glibc's main arena ([heap]), the event loop thread's malloc;
- thread heaps: glibc's per-thread arenas, 64 MiB reservations at 64 MiB-aligned addresses
  (the database's and the worker threads' malloc);
- thread stacks: 8 MiB mappings behind a one-page guard;
- other anonymous: Python's object arenas (1 MiB each, merged when adjacent), large mmapped
  chunks and the rest;
- files: the interpreter, libraries, the database's shared memory index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEAP_RESERVATION = 64 << 20  # glibc's HEAP_MAX_SIZE on 64-bit
PARTS = ("main heap", "thread heaps", "thread stacks", "other anonymous", "files")
_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")


@dataclass
class Mapping:
    start: int
    end: int
    perms: str
    name: str
    rss_kib: int = 0


def read_maps(pid: int) -> list[Mapping]:
    maps: list[Mapping] = []
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            header = _HEADER.match(line)
            if header:
                maps.append(
                    Mapping(int(header[1], 16), int(header[2], 16), header[3], header[4].strip())
                )
            elif line.startswith("Rss:") and maps:
                maps[-1].rss_kib = int(line.split()[1])
    return maps


def split(maps: list[Mapping]) -> dict[str, float]:
    """Resident MiB by part (PARTS)."""
    parts = dict.fromkeys(PARTS, 0.0)
    for i, m in enumerate(maps):
        before = maps[i - 1] if i else None
        after = maps[i + 1] if i + 1 < len(maps) else None
        if m.name == "[heap]":
            part = "main heap"
        elif m.name == "[stack]":
            part = "thread stacks"
        elif m.name and not m.name.startswith("["):
            part = "files"
        elif m.name:
            continue  # [vdso], [vvar] and the like
        elif _thread_heap(m, after):
            part = "thread heaps"
        elif before is not None and _guard(before) and before.end == m.start:
            part = "thread stacks"
        else:
            part = "other anonymous"
        parts[part] += m.rss_kib / 1024
    return parts


def memory_split(pid: int) -> dict[str, float]:
    return split(read_maps(pid))


def _guard(m: Mapping) -> bool:
    return not m.name and m.perms.startswith("---") and m.end - m.start == 4096


def _thread_heap(m: Mapping, after: Mapping | None) -> bool:
    if m.start % HEAP_RESERVATION or m.perms.startswith("---"):
        return False
    if m.end - m.start == HEAP_RESERVATION:
        return True
    return (
        after is not None
        and not after.name
        and after.perms.startswith("---")
        and after.start == m.end
        and after.end == m.start + HEAP_RESERVATION
    )
