"""Alt+digit as a key of its own.

A terminal sends Alt+2 as ESC then "2". Textual reads that pair as the character macOS types
for Option+2 ("™"; "\\x1b8" is "•"), so an Alt+digit binding never fires, and in a text box
the character is typed instead. Here those pairs become the keys `alt+1` … `alt+9`. What a
keyboard types straight (a UK "£" is Shift+3) is one character, not an ESC pair, and stays
text."""

from __future__ import annotations

from enum import Enum
from typing import cast

from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual.keys import Keys

AltDigit = Enum("AltDigit", {f"ALT_{d}": f"alt+{d}" for d in "123456789"})  # type: ignore[misc]


def read_alt_digits_as_keys() -> None:
    """Make Textual's parser report ESC + digit as `alt+DIGIT` (idempotent)."""
    table = cast(dict[str, tuple[Keys, ...] | str], ANSI_SEQUENCES_KEYS)
    for member in AltDigit:
        digit = member.value[-1]
        table[f"\x1b{digit}"] = cast(tuple[Keys, ...], (member,))
