"""client.display: what others wrote, made safe for a terminal, and nothing read as markup."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from client import display
from tests.hostile import MARKUP, SEQUENCES, unsafe_in

anything = st.text() | st.sampled_from(list(SEQUENCES.values()))


@given(anything)
def test_clean_text_holds_no_control_character_and_keeps_its_length(text: str) -> None:
    one_line = display.clean(text)
    assert not unsafe_in(one_line) and "\n" not in one_line and "\t" not in one_line
    assert len(one_line) == len(text)  # one stand-in per character: spans and columns hold


@given(anything)
def test_multi_line_text_keeps_its_newlines_and_tabs(text: str) -> None:
    cleaned = display.clean(text, multiline=True)
    assert not unsafe_in(cleaned)
    assert cleaned.count("\n") == text.count("\n") and cleaned.count("\t") == text.count("\t")


def test_the_stand_ins_say_what_was_there() -> None:
    assert display.clean(SEQUENCES["osc-title"]) == "␛]0;pwned␇"
    assert display.clean("a\nb\x7f") == "a␊b␡"
    assert display.clean(SEQUENCES["c1-csi"] + SEQUENCES["rtl-override"]) == "\ufffd2J\ufffdgnp.exe"
    assert display.clean("plain words, émojis 🐝 and 中文") == "plain words, émojis 🐝 and 中文"


def test_safe_text_is_a_text_never_parsed_as_markup() -> None:
    text = display.safe_text(MARKUP + SEQUENCES["clear-screen"], "bold")
    assert isinstance(text, Text) and text.plain == MARKUP + "␛[2J"
    assert not text.spans and text.style == "bold"
    assert Text.from_markup(display.markup(MARKUP)).plain == MARKUP


@given(anything)
def test_an_alert_is_one_short_line_without_any_control_character(text: str) -> None:
    alert = display.alert_text(text)
    assert not unsafe_in(alert) and "\n" not in alert and "\t" not in alert
    assert len(alert) <= display.ALERT_CHARS


@given(st.recursive(st.text() | st.integers(), lambda inner: st.lists(inner, max_size=3)))
def test_json_output_escapes_what_a_terminal_obeys_and_keeps_the_value(value: object) -> None:
    document = display.json_text(json.dumps(value, ensure_ascii=False))
    assert not unsafe_in(document)
    assert json.loads(document) == value
