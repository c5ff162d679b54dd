"""Mention and hashtag parsing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.post_text import parse_entities


def test_mentions_and_tags() -> None:
    found = parse_entities("@Alice meets @bob_2, @alice again; x@y.org #Tea #tea #42 #café_au_lait")
    assert found.mentions == ["alice", "bob_2"]
    assert found.tags == ["tea", "café_au_lait"]


def test_not_mentions() -> None:
    assert parse_entities("mail me@example.com or @ab or @@carol").mentions == []
    assert parse_entities("a#b &#38; #").tags == []


@given(st.text(max_size=300))
def test_parsing_any_text_never_fails_and_finds_what_is_there(text: str) -> None:
    found = parse_entities(text)
    for name in found.mentions:
        assert "@" + name in text.lower()
    for tag in found.tags:
        assert "#" + tag in text.lower()
    assert len(found.mentions) == len(set(found.mentions)) <= 20
