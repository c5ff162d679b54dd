"""`OpSpec`: one op's name, argument and result types, and how the server treats it; plus
the argument decoding that turns msgspec's validation messages into ones people can act on.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect

from protocol import types
from protocol.errors import ErrorCode, RoostError


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


def _decode(
    kind: type[msgspec.Struct], raw: bytes | msgspec.Raw, code: ErrorCode, what: str
) -> Any:
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise RoostError(code, f"bad {what}: {explain(kind, str(exc))}"[:300]) from None
    except UnicodeError:
        raise RoostError(code, f"bad {what}: not valid UTF-8") from None
    except RecursionError:  # msgspec's guard against a stack overflow
        raise RoostError(code, f"bad {what}: nested too deeply") from None


_TOO_LONG = re.compile(r"Expected `str` of length <= (\d+) - at `\$\.(\w+)`")
_TOO_SHORT = re.compile(r"Expected `str` of length >= (\d+) - at `\$\.(\w+)`")
_PATTERN = re.compile(r"Expected `str` matching regex '(.*)' - at `\$\.([\w.\[\]]+)`")


def explain(kind: type[msgspec.Struct], message: str) -> str:
    """Turn msgspec's validation message into one a person can act on."""
    if m := _TOO_LONG.fullmatch(message):
        return f"{m[2]} is too long (at most {m[1]} characters)"
    if m := _TOO_SHORT.fullmatch(message):
        return f"{m[2]} is too short (at least {m[1]} characters)"
    if m := _PATTERN.fullmatch(message):
        field = m[2]  # a name, or a path such as items[0].parent_id
        rule = _field_descriptions(kind).get(field) or _known_patterns().get(m[1])
        return (
            f"{field} must be {rule}"
            if rule
            else f"{field} contains characters that are not allowed"
        )
    return message


@functools.cache
def _known_patterns() -> dict[str, str]:
    """The shared field types' patterns, described: for fields inside lists or nested structs,
    where the field itself carries no description. Keyed as msgspec quotes a pattern (its repr,
    backslashes doubled)."""
    out: dict[str, str] = {
        types.SINGLE_LINE: types.NO_CONTROLS,
        types.MULTI_LINE: types.NO_CONTROLS_BUT_LINES,
    }
    for kind in (types.Id, types.Username, types.ClientId):
        for meta in getattr(kind, "__metadata__", ()):
            if isinstance(meta, msgspec.Meta) and meta.pattern and meta.description:
                out[meta.pattern] = meta.description
    return {repr(pattern)[1:-1]: rule for pattern, rule in out.items()}


def _field_descriptions(kind: type[msgspec.Struct]) -> dict[str, str]:
    """Each field's description, also when the field is optional (`X | None`)."""
    info = msgspec.inspect.type_info(kind)
    out: dict[str, str] = {}
    for field in getattr(info, "fields", ()):
        options = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else ()
        for meta in (field.type, *options):
            if isinstance(meta, msgspec.inspect.Metadata) and meta.extra_json_schema:
                description = meta.extra_json_schema.get("description")
                if description:
                    out[field.name] = description
                    break
    return out
