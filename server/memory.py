"""Where the server's memory goes, for /metrics: what SQLite holds, what the C heap has in use,
how many blocks Python has allocated. RSS alone cannot tell a cache filling to its bound from
a leak; these can. SQLite's count and Python's cost microseconds; the C heap's walks every
malloc arena with its lock held (milliseconds on a fragmented heap), so /metrics takes it off
the event loop and at most every 10 s (server/metrics.py).

SQLite and glibc are reached through ctypes; where a symbol is missing (another libc, a
SQLite built without memory statistics) the probe reads NaN rather than failing the page.
"""

from __future__ import annotations

import ctypes
import math
import sys
from collections.abc import Callable

from storage.content.malloc import glibc


class _MallInfo2(ctypes.Structure):
    _fields_ = [  # glibc's struct mallinfo2 (malloc.h), every field a size_t
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
            "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _sqlite_probe() -> Callable[[], float]:
    try:
        import _sqlite3

        used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError):
        return lambda: math.nan
    used.restype = ctypes.c_int64
    used.argtypes = []
    return lambda: float(used())


def _malloc_probe() -> Callable[[], float]:
    mallinfo2 = glibc("mallinfo2")
    if mallinfo2 is None:
        return lambda: math.nan  # not glibc 2.33 or later
    mallinfo2.restype = _MallInfo2
    mallinfo2.argtypes = []

    def in_use() -> float:
        info = mallinfo2()
        return float(info.uordblks + info.hblkhd)  # every arena's chunks in use, and mmapped

    return in_use


sqlite_bytes = _sqlite_probe()
"""Bytes SQLite has allocated, every connection of the process: page caches, schemas,
prepared statements. Each connection's page cache is bounded by its cache_size."""

malloc_in_use_bytes = _malloc_probe()
"""Bytes the C heap has handed out and not had back, every arena (Python's large objects,
SQLite, zstd, OpenSSL); RSS above it is free memory kept, pymalloc's arenas, or file pages."""


def python_blocks() -> float:
    """Memory blocks Python has allocated and not freed: grows without bound on a leak."""
    return float(sys.getallocatedblocks())
