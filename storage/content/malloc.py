"""Process memory tuning for Roost's large buffers (glibc only; a no-op elsewhere).

Blocks (up to 4 MiB) and the chunker's pieces (8 MiB) are allocated and freed by the hundred
while a file moves. glibc serves allocations that large with a fresh `mmap` each time and
gives them back on free, so every block paid for page faults on new memory again; on a VM
whose host takes back the memory a guest frees, that is the dearest memory there is (a 1 GiB
sync: ~200,000 faults, half a second of kernel time per process). Keeping such allocations
in the heap, and keeping freed heap to reuse, halves the faults. The cost: a process keeps
up to `KEEP_FREE` bytes per malloc arena it has used, instead of returning them at once; so
it uses at most `ARENAS` arenas (glibc makes up to 8 per core, one per thread that meets
another in malloc: hashing, reading and verifying threads each kept their own 64 MiB, and a
4 GiB sync peaked at ~230 MiB where 128 is the target).

A long-running server calls `trim_malloc` now and then (server/gc_policy.py): the database's
threads allocate in arenas of their own, and what their frees leave between chunks still in
use stays resident until trimmed (under bench/load.py, 1-2 MiB in the first minutes).
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2  # set before a process starts its worker threads (see the note above)
HEAP_UP_TO = 32 << 20  # allocations up to this size come from the heap, not a fresh mmap
KEEP_FREE = 16 << 20  # free memory at the top of a heap kept for reuse, per arena


def glibc(name: str) -> Any | None:
    """A glibc function of this process, or None where there is none (not Linux; another libc,
    e.g. musl, whose allocator works differently)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def tune_malloc() -> bool:
    """Apply the settings above; whether they took effect."""
    mallopt = glibc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(M_ARENA_MAX, ARENAS)
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_UP_TO)) and bool(
        mallopt(M_TRIM_THRESHOLD, KEEP_FREE)
    )


def trim_malloc() -> bool:
    """Give the free memory of every malloc arena back to the system (glibc's malloc_trim:
    whole free pages, also between chunks in use); whether any was given back."""
    malloc_trim = glibc("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    return bool(malloc_trim(0))
