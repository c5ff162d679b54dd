"""Field types with their limits, shared by every op's argument structs.

Limits live in the type (msgspec `Meta`), so decoding a frame is validating it.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"
INT64_MAX = 2**63 - 1  # what the database stores; a larger number would fail deep inside


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
    return "^(" + "|".join([*shorter, *same, digits]) + ")$"


Id = Annotated[
    str,
    msgspec.Meta(
        pattern=at_most(INT64_MAX), description="an id (a whole number, as Roost shows it)"
    ),
]
Int64 = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]  # sizes, counts, cursors
Username = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=32,
        pattern=r"^[A-Za-z0-9_]+$",
        description="3-32 letters, digits or underscores; compared case-insensitively",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
DeviceName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_CONTROL_CHARS)]
DisplayName = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_CONTROL_CHARS)]
Bio = Annotated[str, msgspec.Meta(max_length=500)]
ClientId = Annotated[
    str,
    msgspec.Meta(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="idempotency key chosen by the client; a repeat returns the first result",
    ),
]


class Empty(msgspec.Struct, forbid_unknown_fields=True):
    """Args or result of an op that takes or returns nothing."""
