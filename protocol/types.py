"""Field types with their limits, shared by every op's argument structs.

Limits live in the type (msgspec `Meta`), so decoding a frame is validating it.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"

Id = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,19}$", description="snowflake id, decimal")]
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
