"""Human sizes: what `roost serve --quota` and `--max-file-size` accept, and how sizes print."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.sizes import format_size, parse_size

UNITS = {"": 1, "B": 1, "KB": 1000, "k": 1000, "MiB": 1 << 20, "GiB": 1 << 30, "tb": 10**12}


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(UNITS)), st.booleans())
def test_a_whole_number_and_unit_is_exact(n: int, unit: str, space: bool) -> None:
    assert parse_size(f"{n}{' ' if space else ''}{unit}") == n * UNITS[unit]


@given(st.text(max_size=30))
def test_any_text_is_a_size_or_one_clear_error(text: str) -> None:
    try:
        value = parse_size(text)
    except ValueError as exc:
        message = str(exc)
        assert "\n" not in message  # one line, even for text with newlines (shown as repr)
        assert message.endswith(("is not a size; write e.g. 4096, 500MB or 10GiB", "too large"))
    else:
        assert 0 <= value <= 1 << 62


@pytest.mark.parametrize(
    ("text", "expected"), [("10GiB", 10 << 30), ("1.5 KiB", 1536), ("4096", 4096)]
)
def test_examples_from_the_docs(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_too_large_and_not_a_size() -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_size("9" * 400 + ".5 TiB")
    with pytest.raises(ValueError, match="not a size"):
        parse_size("-1GiB")


@pytest.mark.parametrize(
    ("n", "shown"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (10 << 30, "10.0 GiB")]
)
def test_sizes_print_for_people(n: int, shown: str) -> None:
    assert format_size(n) == shown
