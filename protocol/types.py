"""Field types with their limits, shared by every op's argument structs.

Limits live in the type (msgspec `Meta`), so decoding a frame is validating it. msgspec checks a
pattern with `re.search`, where `$` also matches before a final newline: every pattern here is
anchored with `\\A ... \\Z`, which match only at the true start and end.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

# What no text from a client may hold, as regex class contents: C0 controls, DEL and C1
# controls (a terminal obeys them: ESC starts a sequence, BEL ends an OSC, U+009B is CSI), and
# the bidirectional embeddings, overrides and isolates (they reorder what a line shows).
CONTROLS = r"\x00-\x1f\x7f-\x9f"
BIDI_CONTROLS = r"\u202a-\u202e\u2066-\u2069"
# A name or any one-line text: none of them. A multi-line text (a post, a bio, a message) may
# hold newlines and tabs, and nothing else of them.
SINGLE_LINE = rf"\A[^{CONTROLS}{BIDI_CONTROLS}]*\Z"
MULTI_LINE = rf"\A[^\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]*\Z"
NO_CONTROLS = "no control characters"  # how the rule reads in an error message
NO_CONTROLS_BUT_LINES = "no control characters but newlines and tabs"

INT64_MAX = 2**63 - 1  # what the database stores; a larger number would fail deep inside

UNSAFE = re.compile(f"[{CONTROLS}{BIDI_CONTROLS}]+")  # runs of what no text may hold
_SINGLE_LINE = re.compile(SINGLE_LINE)


def is_single_line(text: str) -> bool:
    """Whether a one-line field (a name) would take this text."""
    return _SINGLE_LINE.search(text) is not None


def underscored(text: str) -> str:
    """`text` with each character no text may hold as `_`: a name that must stay a name (a
    file name chosen by someone else, a path stored before the rule), one character for one."""
    return UNSAFE.sub(lambda m: "_" * len(m[0]), text)


def without_controls(text: str) -> str:
    """A one-line text with what SINGLE_LINE refuses taken out (and the spaces this leaves at
    either end): how names stored before the rule are repaired."""
    cleaned = UNSAFE.sub("", text)
    return cleaned.strip() if cleaned != text else cleaned


def at_most(limit: int) -> str:
    """A regex for the decimal numbers 0..limit (leading zeros allowed): the shorter ones, and
    those of the same length that are smaller at their first differing digit."""
    digits = str(limit)
    shorter = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    same = [
        digits[:i] + f"[0-{int(d) - 1}]" + f"[0-9]{{{len(digits) - i - 1}}}"
        for i, d in enumerate(digits)
        if d != "0"
    ]
    return r"\A(" + "|".join([*shorter, *same, digits]) + r")\Z"


# One-line and multi-line text: every free-text field is one of these, with its own lengths.
SingleLine = Annotated[str, msgspec.Meta(pattern=SINGLE_LINE)]
MultiLine = Annotated[str, msgspec.Meta(pattern=MULTI_LINE)]

Id = Annotated[
    str,
    msgspec.Meta(
        pattern=at_most(INT64_MAX), description="an id (a whole number, as Roost shows it)"
    ),
]
Int64 = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]  # sizes, counts, cursors
USERNAME = r"\A[A-Za-z0-9_]+\Z"
Username = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=32,
        pattern=USERNAME,
        description="3-32 letters, digits or underscores; compared case-insensitively",
    ),
]
# Never shown to anyone, and a rule here could lock out an existing account at login.
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
DeviceName = Annotated[
    SingleLine,
    msgspec.Meta(min_length=1, max_length=64, description=f"1-64 characters, {NO_CONTROLS}"),
]
DisplayName = Annotated[
    SingleLine, msgspec.Meta(max_length=64, description=f"at most 64 characters, {NO_CONTROLS}")
]
Bio = Annotated[
    MultiLine,
    msgspec.Meta(max_length=500, description=f"at most 500 characters, {NO_CONTROLS_BUT_LINES}"),
]
ClientId = Annotated[
    str,
    msgspec.Meta(
        min_length=8,
        max_length=64,
        pattern=r"\A[A-Za-z0-9_-]+\Z",
        description="idempotency key chosen by the client; a repeat returns the first result",
    ),
]


class Empty(msgspec.Struct, forbid_unknown_fields=True):
    """Args or result of an op that takes or returns nothing."""
