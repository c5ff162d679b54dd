"""Field types: an id is a decimal the database can hold, whatever its length."""

from __future__ import annotations

import re

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.types import INT64_MAX, Id, at_most


@given(
    st.integers(min_value=0, max_value=10**20) | st.integers(INT64_MAX - 10**4, INT64_MAX + 10**4)
)
def test_id_pattern_accepts_exactly_the_64_bit_range(number: int) -> None:
    text = str(number)
    ok = number <= INT64_MAX
    assert bool(re.search(at_most(INT64_MAX), text)) is ok
    try:
        msgspec.json.decode(msgspec.json.encode(text), type=Id)
    except msgspec.ValidationError:
        assert not ok
    else:
        assert ok


@pytest.mark.parametrize("limit", [0, 1, 9, 10, 100, 1999, 2000, 4096, 90817])
def test_at_most_any_limit(limit: int) -> None:
    pattern = re.compile(at_most(limit))
    assert [n for n in range(limit * 3 + 20) if pattern.search(str(n))] == list(range(limit + 1))
    assert pattern.search("0" * len(str(limit)))  # leading zeros are still small numbers
    assert not pattern.search("") and not pattern.search("1a")
