"""Mention and hashtag parsing, and the FTS5 query built from user input."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from protocol.post_text import fts_query, parse_entities


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


@given(st.text(max_size=200))
def test_any_query_is_valid_fts5(text: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    db.execute("INSERT INTO t VALUES ('some words here')")
    query = fts_query(text, prefix_last=True)
    if query is None:
        assert not any(ch.isalnum() or ch == "_" for ch in text)
        return
    db.execute("SELECT * FROM t WHERE t MATCH ?", (query,)).fetchall()  # never a syntax error
