"""The client's view of the server's limits as plain logic: what it refuses before sending,
and how a sync splits its uploads so no more waits for a commit than the server allows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from client.limits import (
    UPLOAD_GROUP_BYTES,
    early_send_bytes,
    entries_problem,
    upload_group_bytes,
    upload_groups,
    upload_problem,
)
from protocol.accounts import Usage


def usage(**fields: int | None) -> Usage:
    base = Usage(0, None, None, 280, 4000, 65536, 100.0, 200)
    for name, value in fields.items():
        setattr(base, name, value)
    return base


@given(st.lists(st.integers(0, 5000), max_size=40), st.integers(1, 6000))
def test_groups_take_every_file_once_and_stay_within_the_budget(
    sizes: list[int], budget: int
) -> None:
    groups = upload_groups(sizes, budget)
    assert sorted(i for g in groups for i in g) == list(range(len(sizes)))
    for group in groups:
        assert group  # no empty group
        assert len(group) == 1 or sum(sizes[i] for i in group) <= budget
    if sum(sizes) > budget:  # smallest first: the largest go when the most room is free
        order = [sizes[i] for g in groups for i in g]
        assert order == sorted(order)


def test_what_fits_goes_in_one_group_in_the_order_given() -> None:
    assert upload_groups([30, 10, 20], 100) == [[0, 1, 2]]
    assert upload_groups([30, 10, 20], None) == [[0, 1, 2]]
    assert upload_groups([], 10) == []
    assert upload_groups([30, 10, 20, 500], 60) == [[1, 2, 0], [3]]


def test_a_group_is_a_quarter_of_what_may_wait_for_a_commit() -> None:
    assert upload_group_bytes(None) is None  # a server too old to say
    assert upload_group_bytes(usage()) is None
    assert upload_group_bytes(usage(max_uncommitted_bytes=8 << 20)) == 2 << 20
    assert upload_group_bytes(usage(max_uncommitted_bytes=8 << 30)) == UPLOAD_GROUP_BYTES


def test_half_of_what_may_wait_for_a_commit_is_sent_while_hashing() -> None:
    assert early_send_bytes(None) is None
    assert early_send_bytes(usage()) is None
    assert early_send_bytes(usage(max_uncommitted_bytes=8 << 30)) == 4 << 30  # a 4 GiB file
    group = upload_group_bytes(usage(max_uncommitted_bytes=8 << 20))
    assert group is not None and group + (4 << 20) < 8 << 20  # both fit under the cap


def test_a_file_larger_than_may_wait_for_a_commit_is_refused_before_sending() -> None:
    limits = usage(max_uncommitted_bytes=8 << 20)
    assert upload_problem("a.bin", 8 << 20, limits) is None
    assert upload_problem("big.bin", (8 << 20) + 1, limits) == (
        "big.bin is 8.0 MiB; this server takes at most 8.0 MiB of uploads before their commit"
    )


def test_entries_past_the_limit_are_refused_as_the_server_would() -> None:
    assert entries_problem(None) is None
    assert entries_problem(usage(entries=9, max_entries=10)) is None
    assert entries_problem(usage(entries=10, max_entries=10)) == (
        "too many entries: 10 kept of this server's limit of 10 (file versions, deletions and"
        " attachments); purge old versions to make room"
    )
