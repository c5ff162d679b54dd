"""What other people wrote, made safe to show on a terminal: a control character (C0, DEL, C1)
or a bidirectional override becomes a visible stand-in (ESC shows as ␛, U+009B as �), and
nothing is ever read as markup.

The server refuses these characters in new text (protocol/types.py), but older data and
other servers exist, so every view goes through here: the CLI's consoles (cli/output.py) and
every TUI widget that shows what came from the server.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from protocol.types import BIDI_CONTROLS

if TYPE_CHECKING:  # rich loads only where something is drawn: `roost ... --json` never does
    from rich.style import Style
    from rich.text import Text

REPLACEMENT = "\ufffd"
ALERT_CHARS = 100  # a desktop notification shows a line, not a message

# C0 as the Unicode control pictures (␀ … ␟, one cell wide each, so a column keeps its width),
# DEL as ␡, C1 and bidirectional controls as the replacement character.
_ONE_LINE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}
_ONE_LINE[0x7F] = "\u2421"
_ONE_LINE.update({c: REPLACEMENT for c in range(0x80, 0xA0)})
_ONE_LINE.update({c: REPLACEMENT for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_LINES = {c: stand_in for c, stand_in in _ONE_LINE.items() if c not in (0x09, 0x0A)}

# Inside JSON these may stand raw (only C0 must be escaped), yet a terminal obeys C1; the
# escaped form is the same JSON value.
_JSON_UNSAFE = re.compile(f"[\\x7f-\\x9f{BIDI_CONTROLS}\\u2028\\u2029]")


def clean(text: str, *, multiline: bool = False) -> str:
    """`text` with every control character made visible; `multiline` keeps newlines and tabs
    (for a view that shows several lines: a post, a bio, a message)."""
    return text.translate(_LINES if multiline else _ONE_LINE)


def safe_text(text: str, style: str | Style = "", *, multiline: bool = False) -> Text:
    """Someone else's words as a rich `Text`: cleaned, and never parsed as markup. What a
    widget or a printer is given; `Text.append(safe_text(...))` builds a line around them."""
    from rich.text import Text

    return Text(clean(text, multiline=multiline), style=style)


def markup(text: str, *, multiline: bool = False) -> str:
    """Cleaned and markup-escaped, for the few places that take only a markup string."""
    from rich.markup import escape

    return escape(clean(text, multiline=multiline))


def alert_text(text: str) -> str:
    """What may go inside a terminal's OSC 9 notification: one short line with no control
    character at all (a BEL or ESC would end the sequence and the rest would run)."""
    one_line = " ".join(clean(text, multiline=True).split())
    if len(one_line) > ALERT_CHARS:
        one_line = one_line[: ALERT_CHARS - 1] + "…"
    return one_line


def json_text(document: str) -> str:
    """A JSON document safe to print: DEL, C1, bidirectional controls and the line
    separators escaped as \\uXXXX (C0 always is); the value it holds is unchanged."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", document)
