"""SQL text as PostgreSQL takes it from Roost's repositories: `?` placeholders numbered `$1, $2,
...`, and a statement's row count read from its command status. Plain functions, no I/O.

A `?` is a placeholder only where PostgreSQL would read it as one: not inside a string literal
('...', E'...'), a quoted identifier ("..."), a dollar-quoted body ($$...$$, $tag$...$tag$) or a
comment (-- ..., /* ... */, which nest).
"""

from __future__ import annotations

import functools
import re

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)?\$")


@functools.lru_cache(maxsize=4096)
def numbered_placeholders(sql: str) -> str:
    """`SELECT a FROM t WHERE b = ? AND c = '?'` -> `... WHERE b = $1 AND c = '?'`. Cached: the
    repositories send the same few hundred texts over and over."""
    if "?" not in sql:
        return sql
    out: list[str] = []
    number = 0
    at = 0
    end = len(sql)
    while at < end:
        char = sql[at]
        if char == "?":
            digits = at + 1
            while digits < end and sql[digits].isdigit():
                digits += 1
            if digits > at + 1:  # ?2: SQLite's numbered form, the same number on PostgreSQL
                out.append("$" + sql[at + 1 : digits])
            else:
                number += 1
                out.append(f"${number}")
            at = digits
            continue
        skip_to = _skip_quoted(sql, at)
        out.append(sql[at:skip_to])
        at = skip_to
    return "".join(out)


def _skip_quoted(sql: str, at: int) -> int:
    """Where the token starting at `at` ends: past a whole literal, identifier or comment, or
    past one ordinary character."""
    char = sql[at]
    following = sql[at + 1 : at + 2]
    if _starts_identifier(char):
        # A word is read whole: `$` inside one (a$b) starts no dollar quote, and E'...' is a
        # string whose backslashes escape.
        end = at + 1
        while end < len(sql) and (_starts_identifier(sql[end]) or sql[end] in "0123456789$"):
            end += 1
        if sql[at:end] in ("E", "e") and sql[end : end + 1] == "'":
            return _end_of_string(sql, end + 1, escapes=True)
        return end
    if char == "'":
        return _end_of_string(sql, at + 1, escapes=False)
    if char == '"':
        return _end_of_quoted(sql, at + 1, '"')
    if char == "-" and following == "-":
        newline = sql.find("\n", at)
        return len(sql) if newline < 0 else newline + 1
    if char == "/" and following == "*":
        return _end_of_block_comment(sql, at + 2)
    if char == "$":
        tag = _DOLLAR_TAG.match(sql, at)
        if tag is not None:
            close = sql.find(tag.group(), tag.end())
            return len(sql) if close < 0 else close + len(tag.group())
    return at + 1


def _starts_identifier(char: str) -> bool:
    return char.isalpha() or char == "_" or char >= "\x80"


def _end_of_string(sql: str, at: int, escapes: bool) -> int:
    end = len(sql)
    while at < end:
        char = sql[at]
        if escapes and char == "\\":
            at += 2
            continue
        if char == "'":
            if sql[at + 1 : at + 2] == "'":  # '' is a quote inside the literal
                at += 2
                continue
            return at + 1
        at += 1
    return end


def _end_of_quoted(sql: str, at: int, quote: str) -> int:
    end = len(sql)
    while at < end:
        if sql[at] == quote:
            if sql[at + 1 : at + 2] == quote:
                at += 2
                continue
            return at + 1
        at += 1
    return end


def _end_of_block_comment(sql: str, at: int) -> int:
    depth = 1
    end = len(sql)
    while at < end:
        pair = sql[at : at + 2]
        if pair == "/*":
            depth += 1
            at += 2
        elif pair == "*/":
            depth -= 1
            at += 2
            if depth == 0:
                return at
        else:
            at += 1
    return end


def rowcount(status: str | None) -> int:
    """Rows a statement touched, from its command status: `INSERT 0 3` -> 3, `UPDATE 2` -> 2,
    `SELECT 50` -> 50; -1 for a statement that counts none (`CREATE TABLE`), as sqlite3 gives."""
    if not status:
        return -1
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1
