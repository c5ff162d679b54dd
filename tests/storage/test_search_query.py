"""What a search's words become on each engine: hostile text is only words, on SQLite through
the real FTS5 (with the tokenizer the server's index uses), and the PostgreSQL query text can
hold nothing but quoted lexemes joined by `&`."""

from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from storage.server.search_query import (
    MAX_WORDS,
    fts5_match,
    fts5_within,
    search_terms,
    tag_range,
    tsquery,
)

TOKENIZE = "porter unicode61 remove_diacritics 2"  # as storage/server/schema.py makes the index

HOSTILE = [
    '"',
    '""',
    'bees" OR NEAR( *',
    "NEAR(bees garden, 2)",
    "text:bees",
    "-bees",
    "^bees",
    "bee*",
    "{text}: bees",
    "AND OR NOT",
    "bees\x00\x01\x1b[31m\x7f",
    "'; DROP TABLE posts; --",
    "\\' | !bees & (x)",
    "word " * 2_000,
    "x" * 10_000,
]


def _index(*rows: str) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{TOKENIZE}')")
    db.executemany("INSERT INTO t (x) VALUES (?)", [(r,) for r in rows])
    return db


def _found(db: sqlite3.Connection, match: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT x FROM t WHERE t MATCH ? ORDER BY rank", (match,))]


def test_words_match_their_forms() -> None:
    db = _index("Hives everywhere", "I run every day", "a café in town", "Generations")
    assert _found(db, _match("hive")) == ["Hives everywhere"]
    assert _found(db, _match("running")) == ["I run every day"]
    assert _found(db, _match("Cafe")) == ["a café in town"]
    assert _found(db, _match("generation")) == ["Generations"]


def test_every_word_must_be_there() -> None:
    db = _index("bees in the garden", "bees elsewhere")
    assert _found(db, _match("garden bees")) == ["bees in the garden"]


def test_a_word_joined_by_underscores_wants_its_pieces_together() -> None:
    db = _index("alice_2", "alice and 2 others", "alice_22")
    assert _found(db, _match("alice_2")) == ["alice_2"]
    assert _found(db, _match("alice ___ 2")) == ["alice_2", "alice and 2 others"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_only_words(text: str) -> None:
    db = _index("bees in the garden", "near the text", "and or not", "word")
    match = fts5_match(search_terms(text).words, prefix_last=True)
    if match is not None:
        _found(db, match)  # never a syntax error


def test_operators_typed_are_words_not_syntax() -> None:
    db = _index("bees in the garden", "bees or near")
    # NEAR, OR and a column filter would widen or narrow the match if they were syntax.
    assert _found(db, _match('bees" OR NEAR( *')) == ["bees or near"]
    assert _found(db, _match("x:bees")) == []
    assert _found(db, _match("AND OR NOT")) == []


def test_a_flood_of_words_is_cut_to_a_query() -> None:
    terms = search_terms("word " * 2_000 + " ".join(f"w{i}" for i in range(100)))
    assert len(terms.words) == MAX_WORDS and terms.words[0] == "word"
    assert len(search_terms("x" * 10_000).words[0]) == 64


def test_tags_are_the_query_spelled_as_one() -> None:
    assert search_terms("#Home_Lab").tag == "home_lab"
    assert search_terms("home lab").tag == "homelab"
    assert search_terms("!!!").tag == ""
    low, high = tag_range("hiv")
    assert low <= "hives" < high and not low <= "hix" < high


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
@example("\x00 NEAR text: ^b* \"'")
def test_any_text_finds_a_row_holding_its_words_on_sqlite(text: str) -> None:
    """Whatever was typed, the query is valid FTS5 and means: these words, all of them."""
    words = search_terms(text).words
    match = fts5_match(words)
    if match is None:
        assert not any(ch.isalnum() for ch in text)
        return
    db = _index(" ".join(words), "something else entirely")
    found = _found(db, match)
    assert " ".join(words) in found
    assert "something else entirely" not in found or {"something", "else", "entirely"} >= set(words)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=100), st.lists(st.integers(1, 2**62), max_size=5))
def test_a_scoped_query_finds_only_rows_of_its_scope(text: str, scope: list[int]) -> None:
    words = search_terms(text).words
    match = fts5_match(words, prefix_last=True)
    if match is None:
        return
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, c, tokenize='{TOKENIZE}')")
    db.executemany("INSERT INTO t (rowid, x, c) VALUES (?, ?, ?)",
                   [(i, " ".join(words), f"c{i}") for i in (1, 2, 3)])  # fmt: skip
    tokens = [f"c{i}" for i in scope]
    rows = {r[0] for r in db.execute("SELECT rowid FROM t WHERE t MATCH ?",
                                     (fts5_within(match, "x", "c", tokens),))}  # fmt: skip
    assert rows == ({1, 2, 3} & set(scope) if scope else {1, 2, 3})


def test_a_typed_word_never_matches_a_scope_token() -> None:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, c, tokenize='{TOKENIZE}')")
    db.execute("INSERT INTO t (x, c) VALUES ('hello', 'c42')")
    match = fts5_match(search_terms("c42").words)
    assert match is not None
    scoped = fts5_within(match, "x", "c", [])
    assert db.execute("SELECT * FROM t WHERE t MATCH ?", (scoped,)).fetchall() == []


# A to_tsquery text that is only quoted lexemes (letters, digits, underscores) joined by " & ",
# the last one perhaps a prefix: no operator, parenthesis, weight or escape can be in it.
_TSQUERY = re.compile(r"\A'\w+'(?: & '\w+')*(?::\*)?\Z")


@settings(max_examples=500)
@given(st.text(max_size=500), st.booleans())
@example("a' | !b & (c) <-> d:* \\'", True)
def test_any_text_is_only_lexemes_for_postgresql(text: str, prefix: bool) -> None:
    words = search_terms(text).words
    query = tsquery(words, prefix_last=prefix)
    if query is None:
        assert words == ()
        return
    assert _TSQUERY.match(query), query
    lexemes = re.findall(r"'([^']*)'", query)
    assert tuple(lexemes) == words  # the same words, in order: the meaning is kept
    assert query.endswith(":*") == prefix


def test_postgresql_escapes_what_could_end_a_lexeme() -> None:
    assert tsquery(("it's", "a\\b")) == "'it''s' & 'a\\\\b'"
    assert tsquery(("hive",), prefix_last=True) == "'hive':*"
    assert tsquery(()) is None


def _match(text: str) -> str:
    match = fts5_match(search_terms(text).words)
    assert match is not None
    return match
