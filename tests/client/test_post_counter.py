"""The TUI's live counter and the CLI's refusal follow one rule (client/social.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.errors import ClientError
from client.social import chars_left, check_post_text, post_counter
from protocol.social import MAX_POST_CHARS


@given(st.text(min_size=1, max_size=400).filter(lambda t: t.strip()))
def test_the_counter_says_over_exactly_when_sending_is_refused(text: str) -> None:
    counter = post_counter(text)
    assert counter.startswith(f"{len(text)}/{MAX_POST_CHARS}")
    try:
        check_post_text(text)
    except ClientError as exc:
        assert "too many" in counter
        assert str(exc) == (
            f"a post is at most {MAX_POST_CHARS} characters; this one has {len(text)}"
        )
        assert counter.endswith(f"{-chars_left(text)} too many")
    else:
        assert "too many" not in counter


@pytest.mark.parametrize(
    ("length", "shown"),
    [(0, "0/280"), (280, "280/280"), (281, "281/280: 1 too many"), (300, "300/280: 20 too many")],
)
def test_the_counter_at_the_edges(length: int, shown: str) -> None:
    assert post_counter("x" * length) == shown
