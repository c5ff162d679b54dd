"""The op registry: every op's name, argument and result types, and how the server treats it.

Server and clients share this table, so an op's shape is written down exactly once, and tests
(such as the authorization matrix) can enumerate every op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re

import msgspec
import msgspec.inspect

from protocol import accounts, profiles
from protocol.errors import ErrorCode, RoostError
from protocol.types import Empty


@dataclass(frozen=True)
class OpSpec:
    name: str
    args: type[msgspec.Struct]
    result: type[msgspec.Struct]
    needs_auth: bool = True
    # An idempotent write: the server runs it in one transaction with its `client_id`
    # record, so a replay returns the first result; offline clients may queue it.
    write: bool = False
    summary: str = ""

    def decode_args(self, raw: bytes | msgspec.Raw) -> Any:
        return _decode(self.args, raw, ErrorCode.INVALID_ARGS, f"{self.name} args")

    def decode_result(self, raw: bytes | msgspec.Raw) -> Any:
        return _decode(self.result, raw, ErrorCode.MALFORMED, f"{self.name} result")


def _decode(kind: type[msgspec.Struct], raw: bytes | msgspec.Raw, code: ErrorCode, what: str) -> Any:
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise RoostError(code, f"bad {what}: {explain(kind, str(exc))}"[:300]) from None


_TOO_LONG = re.compile(r"Expected `str` of length <= (\d+) - at `\$\.(\w+)`")
_TOO_SHORT = re.compile(r"Expected `str` of length >= (\d+) - at `\$\.(\w+)`")
_PATTERN = re.compile(r"Expected `str` matching regex .* - at `\$\.(\w+)`")


def explain(kind: type[msgspec.Struct], message: str) -> str:
    """Turn msgspec's validation message into one a person can act on."""
    if m := _TOO_LONG.fullmatch(message):
        return f"{m[2]} is too long (at most {m[1]} characters)"
    if m := _TOO_SHORT.fullmatch(message):
        return f"{m[2]} is too short (at least {m[1]} characters)"
    if m := _PATTERN.fullmatch(message):
        rule = _field_descriptions(kind).get(m[1])
        return f"{m[1]} must be {rule}" if rule else f"{m[1]} contains characters that are not allowed"
    return message


def _field_descriptions(kind: type[msgspec.Struct]) -> dict[str, str]:
    info = msgspec.inspect.type_info(kind)
    out: dict[str, str] = {}
    for field in getattr(info, "fields", ()):
        meta = field.type
        if isinstance(meta, msgspec.inspect.Metadata) and meta.extra_json_schema:
            description = meta.extra_json_schema.get("description")
            if description:
                out[field.name] = description
    return out


OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in [
        OpSpec("auth.register", accounts.Credentials, accounts.DeviceSession, needs_auth=False,
               summary="create an account and log this device in"),
        OpSpec("auth.login", accounts.Credentials, accounts.DeviceSession, needs_auth=False,
               summary="log a new device in"),
        OpSpec("auth.logout", Empty, Empty, summary="revoke the calling device's token"),
        OpSpec("auth.whoami", Empty, accounts.WhoAmI, summary="who the calling device belongs to"),
        OpSpec("devices.list", Empty, accounts.DeviceList, summary="the caller's devices"),
        OpSpec("devices.revoke", accounts.RevokeDevice, Empty,
               summary="revoke one of the caller's devices and close its connections"),
        OpSpec("profile.get", profiles.GetProfile, profiles.Profile, summary="a user's profile"),
        OpSpec("profile.set", profiles.SetProfile, profiles.Profile, write=True,
               summary="change the caller's display name and/or bio"),
    ]
}

# Events the server pushes: name -> data type.
EVENTS: dict[str, type[msgspec.Struct]] = {
    "profile.updated": profiles.Profile,
}


def spec_for(op: str) -> OpSpec:
    try:
        return OPS[op]
    except KeyError:
        raise RoostError(ErrorCode.UNKNOWN_OP, f"unknown op {op[:64]!r}") from None
