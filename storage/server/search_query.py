"""From what a person types into search to each engine's query.

`search_terms()` reads the words out of the text once, the same way for every engine: runs of
letters, digits and underscores (NFC, case-folded) holding a letter or digit, so punctuation,
quotes, `*`, `^`, `:` and control characters are only separators and never reach an engine as
syntax. Then one plain function per engine turns the words into that engine's query, in which
every word is a quoted term, so `NEAR`, `OR`, `AND`, `NOT` or `text` are words like any other.
Both engines' tokenizers split a quoted word further where they split text (`alice_2` is
`alice` then `2`), and both then want those pieces next to each other, as typed:

- `fts5_match()`: an FTS5 MATCH expression (SQLite), every word a quoted string ANDed with
  the others; the porter tokenizer the index uses stems the query's words too, so "hive" finds
  "Hives" and "running" finds "run".
- `tsquery()`: the text for `to_tsquery('english', $1)` (PostgreSQL), bound as a parameter,
  every word a quoted lexeme joined by `&`. `to_tsquery` rather than `plainto_tsquery` or
  `websearch_to_tsquery`: it alone has a prefix match (`:*`, for people found while their name
  is being typed), and `websearch_to_tsquery` gives `-`, `or` and quotes a meaning the person
  did not ask for. Each lexeme holds letters, digits and underscores only, so no quote,
  backslash or operator can come from the input; quotes and backslashes are escaped all the
  same. Where the engines differ: the `english` configuration drops stop words ("the", "a"),
  which the porter tokenizer keeps, so a query of stop words alone finds nothing on
  PostgreSQL; and a few characters Python counts as letters or digits (`¼`) are no word to
  PostgreSQL's parser.
- `fts5_within()`: an FTS5 match kept to one column and to the rows of some conversations or
  namespaces (their tokens), so a search reads only the searcher's own rows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_WORDS = 16  # words past these are dropped: a query is a few words, not a document
MAX_WORD = 64  # characters kept of one word (the longest real words are shorter)
MAX_TAG = 64  # as long as a hashtag may be (protocol/post_text.py)

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class SearchTerms:
    words: tuple[str, ...]  # what full-text search looks for, all of them
    tag: str  # hashtags starting with this ("" for none): the query as one tag

    def __bool__(self) -> bool:
        return bool(self.words or self.tag)


def search_terms(text: str) -> SearchTerms:
    """The words a person searched for. A hashtag cannot hold a space, so "home lab" and
    "#home_lab" both look for tags starting with what they spell as one tag."""
    folded = unicodedata.normalize("NFC", text).casefold()
    runs = (w[:MAX_WORD] for w in _WORD.findall(folded) if w.strip("_"))
    words = tuple(dict.fromkeys(runs))[:MAX_WORDS]
    tag = "".join(_WORD.findall(folded[: 4 * MAX_TAG]))[:MAX_TAG]
    return SearchTerms(words, tag)


def fts5_match(words: tuple[str, ...], *, prefix_last: bool = False) -> str | None:
    """The FTS5 MATCH expression finding rows that hold every word (the last one as the
    start of a word with `prefix_last`); None when there is no word to look for."""
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix_last:
        quoted[-1] += "*"
    return " AND ".join(quoted)


def fts5_within(match: str, column: str, scope_column: str, scope: list[str]) -> str:
    """`match` looked for in `column` only, in rows whose `scope_column` holds one of the
    `scope` tokens (tokens Roost wrote, such as a conversation's `c123`); with no scope, in
    every row. The column filter also keeps a typed word that looks like such a token from
    matching one."""
    where = f"{column} : ({match})"
    if not scope:
        return where
    tokens = " OR ".join('"' + t.replace('"', '""') + '"' for t in scope)
    return f"{where} AND {scope_column} : ({tokens})"


def tsquery(words: tuple[str, ...], *, prefix_last: bool = False) -> str | None:
    """The text of a PostgreSQL `to_tsquery` finding the same rows as `fts5_match()`; None
    when there is no word to look for."""
    if not words:
        return None
    quoted = ["'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in words]
    if prefix_last:
        quoted[-1] += ":*"
    return " & ".join(quoted)


def tag_range(prefix: str) -> tuple[str, str]:
    """Bounds of the tags that start with `prefix`, for an indexed range scan
    (`tag >= low AND tag < high`)."""
    return prefix, prefix + "\U0010ffff"
