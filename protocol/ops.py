"""The op registry: every op and event of every capability, in one table.

Server and clients share it, so an op's shape is written down exactly once, and tests (such as
the authorization matrix) can enumerate every op. Each capability module lists its own
`SPECS` and `EVENTS`; add a capability by adding it to `CAPABILITIES`.
"""

from __future__ import annotations

import msgspec

from protocol import (
    account_changes,
    accounts,
    admin,
    blocking,
    chat,
    export,
    files,
    links,
    profiles,
    social,
)
from protocol.errors import ErrorCode, RoostError
from protocol.spec import OpSpec

CAPABILITIES = [
    accounts,
    account_changes,
    admin,
    profiles,
    social,
    blocking,
    chat,
    files,
    links,
    export,
]

OPS: dict[str, OpSpec] = {spec.name: spec for cap in CAPABILITIES for spec in cap.SPECS}

# Events the server pushes: name -> data type.
EVENTS: dict[str, type[msgspec.Struct]] = {
    name: kind for cap in CAPABILITIES for name, kind in cap.EVENTS.items()
}


def spec_for(op: str) -> OpSpec:
    try:
        return OPS[op]
    except KeyError:
        raise RoostError(ErrorCode.UNKNOWN_OP, f"unknown op {op[:64]!r}") from None


__all__ = ["EVENTS", "OPS", "OpSpec", "spec_for"]
