"""The quota and size rules as plain logic: items are counted in order, as if committed one
by one; a refused item counts nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import RoostError
from server.quota import QuotaCheck, check_file_size, check_text_length


@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.lists(st.integers(min_value=1, max_value=5_000), max_size=20),
)
def test_accepted_items_never_pass_the_quota(used: int, quota: int, sizes: list[int]) -> None:
    check = QuotaCheck(used, quota)
    total = used
    for size in sizes:
        try:
            check.take(size)
        except RoostError as exc:
            assert exc.code == "quota_exceeded" and total + size > quota
            assert exc.message.startswith("quota exceeded: ")
        else:
            assert total + size <= quota
            total += size
        assert check.used == total


def test_no_quota_takes_anything() -> None:
    check = QuotaCheck(10**15, None)
    check.take(10**15)
    assert check.used == 2 * 10**15


def test_messages_say_how_much_of_how_much() -> None:
    with pytest.raises(RoostError) as over:
        QuotaCheck(int(9.8 * 2**30), 10 << 30, owner_is_caller=False).take(1 << 30)
    assert over.value.message == (
        "quota exceeded (the share owner's): 9.8 GiB of 10.0 GiB used; this needs 1.0 GiB more"
    )
    with pytest.raises(RoostError) as big:
        check_file_size(3 << 30, 2 << 30)
    assert big.value.code == "too_large" and "2.0 GiB" in big.value.message
    check_file_size(2 << 30, 2 << 30)
    check_file_size(10**15, None)
    with pytest.raises(RoostError, match=r"at most 5 characters"):
        check_text_length("toolong", 5)
