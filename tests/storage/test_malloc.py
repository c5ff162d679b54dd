"""Process memory tuning: free memory left between chunks in use goes back when trimmed."""

from __future__ import annotations

import sys

import pytest

from storage.content.malloc import trim_malloc
from tests.helpers import PIECE, PIECES, fragment_a_thread_arena, resident_bytes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def test_memory_a_thread_freed_between_live_chunks_goes_back_when_trimmed() -> None:
    kept = fragment_a_thread_arena()
    before = resident_bytes()
    assert trim_malloc()
    given_back = before - resident_bytes()
    assert given_back > PIECES * PIECE // 2, f"only {given_back >> 20} MiB given back"
    assert len(kept) == PIECES // 100
