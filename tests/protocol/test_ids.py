"""Snowflake ids: strictly increasing, time-sortable, robust to a clock stepping back."""

from __future__ import annotations

from protocol.ids import SnowflakeGenerator, timestamp_ms


def test_ids_increase_and_carry_their_time() -> None:
    now = [1_800_000_000_000]
    gen = SnowflakeGenerator(node=3, clock=lambda: now[0])
    ids = [gen.next() for _ in range(10_000)]  # more than 4096 in one millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert timestamp_ms(ids[0]) == now[0]
    now[0] -= 5_000  # the clock steps back
    later = gen.next()
    assert later > ids[-1]


def test_ids_fit_in_a_signed_64_bit_integer_for_decades() -> None:
    gen = SnowflakeGenerator(node=1023, clock=lambda: 1_767_225_600_000 + 60 * 365 * 86_400_000)
    assert gen.next() < 2**63
