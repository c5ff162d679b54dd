"""The fan-out rules and the LRU, without sockets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.lru import LRU
from server.social.fanout import fans_out, merge_newest, next_cursor


def test_threshold_is_inclusive() -> None:
    assert fans_out(10_000, 10_000)
    assert not fans_out(10_001, 10_000)
    assert fans_out(0, 0) and not fans_out(1, 0)


@given(st.lists(st.lists(st.integers(1, 1000), max_size=30), max_size=5), st.integers(1, 50))
def test_merge_is_newest_first_without_repeats(lists: list[list[int]], limit: int) -> None:
    sources = [sorted(set(ids), reverse=True) for ids in lists]
    merged = merge_newest(sources, limit)
    expected = sorted({i for ids in sources for i in ids}, reverse=True)[:limit]
    assert merged == expected


def test_cursor() -> None:
    assert next_cursor([9, 7, 5], 3, exhausted=False) == 5
    assert next_cursor([9, 7], 3, exhausted=True) is None
    assert next_cursor([9, 7, 5], 3, exhausted=True) == 5  # a full page: maybe more
    assert next_cursor([], 3, exhausted=False) is None
    # a short page whose reads were hidden goes on from the oldest id read, not the end
    assert next_cursor([], 3, exhausted=False, scanned=40) == 40
    assert next_cursor([9], 3, exhausted=False, scanned=4) == 4
    assert next_cursor([9, 7, 5], 3, exhausted=False, scanned=1) == 5  # a full page
    assert next_cursor([9], 3, exhausted=True, scanned=4) is None


def test_lru_evicts_the_least_recently_used() -> None:
    cache: LRU[int, str] = LRU(2)
    cache.put(1, "a")
    cache.put(2, "b")
    assert cache.get(1) == "a"  # 1 is now the most recent
    cache.put(3, "c")
    assert 2 not in cache and 1 in cache and 3 in cache
    cache.discard(1)
    assert cache.get(1) is None and len(cache) == 1
    assert (cache.hits, cache.misses) == (1, 1)
    empty: LRU[int, str] = LRU(0)
    empty.put(1, "a")
    assert len(empty) == 0
