"""The quota, size and entry rules as plain logic: items are counted in order, as if committed
one by one; a refused item counts nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import RoostError
from server.quota import (
    ROOM_RECHECK_BYTES,
    ROOM_RECHECK_S,
    QuotaCheck,
    UploadRoom,
    check_file_size,
    check_staged,
    check_text_length,
    check_uncommitted,
    size_problem,
    uncommitted_cap,
)
from storage.server.expiry import DAY_MS


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


@given(
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=50),
    st.lists(st.tuples(st.booleans(), st.integers(1, 4)), max_size=30),
)
def test_entries_never_pass_their_limit_but_deletions_always_count(
    entries: int, limit: int, items: list[tuple[bool, int]]
) -> None:
    """An item adds one entry and the folders made for it; a deletion is never refused, so
    a user at the limit can still clean up."""
    check = QuotaCheck(0, None, entries=entries, max_entries=limit)
    total = entries
    for deletion, adding in items:
        if deletion:
            check.count(1)
            total += 1
            continue
        try:
            check.take(0, adding)
        except RoostError as exc:
            assert exc.code == "quota_exceeded" and total + adding > limit
            assert exc.message.startswith(f"too many entries: {total:,} kept")
        else:
            assert total + adding <= limit
            total += adding
        assert check.entries == total


def test_a_size_must_be_what_the_blocks_hold() -> None:
    assert size_problem(6 << 20, 6 << 20) is None
    assert size_problem(1, 6 << 20) == (
        "size 1 does not match the 6,291,456 bytes its blocks hold"
        " (the server counts sizes from the blocks)"
    )


@pytest.mark.parametrize(
    ("max_uncommitted", "max_file", "quota", "cap"),
    [
        (8 << 30, None, None, 8 << 30),
        (8 << 30, 20 << 30, None, 20 << 30),  # the largest file allowed must fit
        (8 << 30, 20 << 30, 10 << 30, 10 << 30),  # no more than could ever be committed
        (8 << 30, None, 1 << 20, 1 << 20),
        (None, None, 1 << 20, 1 << 20),
        (None, 2 << 30, None, None),
        (None, None, None, None),
    ],
)
def test_the_uncommitted_cap_fits_the_largest_file_and_the_quota(
    max_uncommitted: int | None, max_file: int | None, quota: int | None, cap: int | None
) -> None:
    assert uncommitted_cap(max_uncommitted, max_file, quota) == cap


def test_uploads_are_refused_once_at_the_cap() -> None:
    check_uncommitted((1 << 20) - 1, 1 << 20, DAY_MS)  # under: this frame may go past it
    check_uncommitted(10**15, None, DAY_MS)
    with pytest.raises(RoostError) as at:
        check_uncommitted(1 << 20, 1 << 20, DAY_MS)
    assert at.value.code == "quota_exceeded"
    assert at.value.message == (
        "uploads waiting for a commit are at this server's limit: 1.0 MiB of 1.0 MiB;"
        " commit them, or they expire after 24 h"
    )


def test_staged_blocks_are_refused_past_the_cap() -> None:
    check_staged(1000, 1000, DAY_MS)
    with pytest.raises(RoostError) as over:
        check_staged(1001, 1000, 90 * 60_000)
    assert over.value.code == "quota_exceeded"
    assert over.value.message == (
        "too many staged blocks: this needs 1,001 of this server's limit of 1,000;"
        " commit what is staged, or it expires after 1.5 h"
    )


@given(
    st.integers(min_value=0, max_value=4 * ROOM_RECHECK_BYTES),
    st.lists(st.integers(min_value=1, max_value=8 << 20), max_size=40),
)
def test_uploads_skip_the_room_check_only_far_from_the_cap(room: int, sizes: list[int]) -> None:
    """Between two reads of the uncommitted bytes, a connection's uploads never take the user
    past the cap, and never further than ROOM_RECHECK_BYTES past the last read."""
    estimate = UploadRoom.after_check(room, now=0.0)
    unchecked = 0
    for n in sizes:
        if estimate.allows(n, now=0.1):
            unchecked += n
    assert unchecked <= max(0, room - ROOM_RECHECK_BYTES)
    assert unchecked <= ROOM_RECHECK_BYTES


def test_the_room_is_read_again_after_a_while() -> None:
    estimate = UploadRoom.after_check(10 * ROOM_RECHECK_BYTES, now=100.0)
    assert estimate.allows(1 << 20, now=100.0)
    assert not estimate.allows(1 << 20, now=100.0 + ROOM_RECHECK_S)
