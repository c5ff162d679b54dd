"""Process memory tuning: free memory left between chunks in use goes back when trimmed."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from storage.malloc import trim_malloc

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

PIECE = 32 << 10  # above pymalloc's small objects: each comes from the thread's malloc arena
PIECES = 3000  # ~94 MiB


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fragment_a_thread_arena() -> list[bytes]:
    """As a database thread leaves its arena: most of it free, but every so often a chunk
    still in use, so the arena cannot shrink from the top and the pages stay resident. The
    chunks still in use are returned."""
    kept: list[bytes] = []

    def allocate_and_free_most() -> None:
        pieces = [os.urandom(PIECE) for _ in range(PIECES)]  # touched: resident
        kept.extend(pieces[::100])
        pieces.clear()

    worker = threading.Thread(target=allocate_and_free_most)
    worker.start()
    worker.join()
    return kept


def test_memory_a_thread_freed_between_live_chunks_goes_back_when_trimmed() -> None:
    kept = fragment_a_thread_arena()
    before = resident_bytes()
    assert trim_malloc()
    given_back = before - resident_bytes()
    assert given_back > PIECES * PIECE // 2, f"only {given_back >> 20} MiB given back"
    assert len(kept) == PIECES // 100
