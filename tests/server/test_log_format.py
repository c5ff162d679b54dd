"""The text log line as plain logic: fields after the message with the address first, values
that could pose as another field quoted, the journal's form without a timestamp."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from server.logs import JsonFormatter, TextFormatter


def record(level: int, msg: str, **fields: object) -> logging.LogRecord:
    rec = logging.LogRecord("roost.auth", level, __file__, 1, msg, None, None)
    for name, value in fields.items():
        setattr(rec, name, value)
    return rec


def test_text_line_puts_the_address_first() -> None:
    line = TextFormatter().format(
        record(logging.WARNING, "login failed", user="alice", addr="203.0.113.5", code="x")
    )
    assert line.endswith(" WARNING roost.auth: login failed addr=203.0.113.5 user=alice code=x")
    assert line[:4].isdigit()  # a timestamp first, off the journal


def test_journal_line_has_a_priority_and_no_timestamp() -> None:
    fmt = TextFormatter(journal=True)
    assert fmt.format(record(logging.WARNING, "login failed", addr="::1", user="-")) == (
        "<4>WARNING roost.auth: login failed addr=::1 user=-"
    )
    assert fmt.format(record(logging.INFO, "x")) == "<6>INFO roost.auth: x"
    assert fmt.format(record(logging.DEBUG, "x")).startswith("<7>")
    assert fmt.format(record(logging.ERROR, "x")).startswith("<3>")


@given(st.text(max_size=40))
def test_no_value_can_add_a_field_or_a_line(value: str) -> None:
    line = TextFormatter(journal=True).format(
        record(logging.WARNING, "login failed", addr="203.0.113.5", user=value)
    )
    assert "\n" not in line
    assert line.startswith("<4>WARNING roost.auth: login failed addr=203.0.113.5 user=")
    rest = line.removeprefix("<4>WARNING roost.auth: login failed addr=203.0.113.5 user=")
    # one word, or one quoted value: never " addr=" standing on its own
    assert " " not in rest or rest[0] in "'\""


def test_json_record_carries_the_auth_fields() -> None:
    text = JsonFormatter().format(
        record(logging.INFO, "login ok", addr="::1", user="alice", device="12")
    )
    assert '"event":"login ok"' in text and '"addr":"::1"' in text and '"device":"12"' in text
