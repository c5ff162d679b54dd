"""`?` placeholders become PostgreSQL's `$n` only where PostgreSQL would read a parameter, and a
command status gives the row count sqlite3 would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from storage.postgres_sql import numbered_placeholders, rowcount

# Text that holds no quote, comment, dollar sign or placeholder of its own.
plain = st.text(
    alphabet=st.characters(blacklist_characters="'\"?$-/*\x00", codec="utf-8"), max_size=12
).map(lambda s: s + " ")
inside = st.text(alphabet=st.sampled_from("ab ?$'\"-/*\\\n"), max_size=10)


@st.composite
def quoted(draw: st.DrawFn) -> str:
    """Something PostgreSQL reads as one token, with `?` inside that is not a placeholder,
    and a space after it (two quoted tokens side by side would read as one: '' is a quote)."""
    return draw(token()) + " "


@st.composite
def token(draw: st.DrawFn) -> str:
    body = draw(inside)
    kind = draw(st.sampled_from(["string", "escaped", "identifier", "line", "block", "dollar"]))
    if kind == "string":
        return "'" + body.replace("'", "''") + "'"
    if kind == "escaped":
        return " E'" + body.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if kind == "identifier":
        return '"' + body.replace('"', '""') + '"'
    if kind == "line":
        return "--" + body.replace("\n", " ") + "\n"
    if kind == "block":
        return "/*" + body.replace("*/", "* /").replace("/*", "/ *") + " /* nested ? */ */"
    tag = draw(st.sampled_from(["", "fn", "body_1"]))
    return f"${tag}$" + body.replace("$", "") + f"${tag}$"


@given(st.lists(st.one_of(plain, quoted(), st.just("?")), max_size=12))
def test_only_placeholders_outside_quotes_are_numbered(pieces: list[str]) -> None:
    expected: list[str] = []
    number = 0
    for at, piece in enumerate(pieces):
        if piece == "?" and pieces[at + 1 : at + 2] and pieces[at + 1][:1].isdigit():
            expected.append("$")  # ?2: a numbered placeholder keeps its number
        elif piece == "?":
            number += 1
            expected.append(f"${number}")
        else:
            expected.append(piece)
    assert numbered_placeholders("".join(pieces)) == "".join(expected)


@given(st.text(alphabet=st.characters(blacklist_characters="?")))
def test_text_without_a_question_mark_is_unchanged(sql: str) -> None:
    assert numbered_placeholders(sql) == sql


def test_examples_the_repositories_send() -> None:
    assert (
        numbered_placeholders("SELECT id FROM users WHERE username = ? AND bio <> '?' LIMIT ?")
        == "SELECT id FROM users WHERE username = $1 AND bio <> '?' LIMIT $2"
    )
    assert numbered_placeholders("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1"
    assert numbered_placeholders("SELECT E'\\' ?', ?") == "SELECT E'\\' ?', $1"
    # `e` at the end of a word is not an escape-string prefix.
    assert numbered_placeholders("SELECT type'x\\', ?") == "SELECT type'x\\', $1"
    assert numbered_placeholders("SELECT $$ ? $$, ?, a$b") == "SELECT $$ ? $$, $1, a$b"
    # Unterminated quotes copy the rest as they are; PostgreSQL reports the syntax error.
    assert numbered_placeholders("SELECT ?, 'open ?") == "SELECT $1, 'open ?"


def test_rowcount_from_the_command_status() -> None:
    assert rowcount("INSERT 0 3") == 3
    assert rowcount("UPDATE 2") == 2
    assert rowcount("DELETE 0") == 0
    assert rowcount("SELECT 50") == 50
    assert rowcount("CREATE TABLE") == -1
    assert rowcount("") == -1
    assert rowcount(None) == -1


def test_numbered_placeholders_keep_their_numbers() -> None:
    sql = "UPDATE t SET a = MAX(a, ?2, ?3), b = ?4 WHERE c = ?1 AND d = '?2'"
    assert numbered_placeholders(sql) == (
        "UPDATE t SET a = MAX(a, $2, $3), b = $4 WHERE c = $1 AND d = '?2'"
    )
