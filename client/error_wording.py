"""Error messages in people's words: the protocol's field rules name ops and fields
(`bad post.like args: post_id must be an id`); a person reads `not a post id: abc`."""

from __future__ import annotations

import re
from collections.abc import Mapping

# A field as a person calls what they typed into it.
FIELD_WORDS: dict[str, str] = {
    "post_id": "post id",
    "reply_to": "post id to reply to",
    "up_to": "notification id",
    "device_id": "device id",
    "conversation": "conversation id",
    "version_id": "file version id",
    "invitation_id": "invitation id",
    "namespace_id": "folder id",
    "display_name": "name",
    "username": "user name",
    "to": "chat target",
    "seq": "message number",
    "text": "text",
    "bio": "bio",
    "name": "name",
    "members": "members",
    "folder": "folder",
    "path": "path",
    "password": "password",
    "new_password": "new password",
    "device_name": "device name",
}
_TYPES = {"int": "a whole number", "str": "text", "bool": "true or false", "array": "a list"}

_BAD_ARGS = re.compile(r"\Abad [a-z_.]+ (?:args|result): (.*)\Z", re.DOTALL)
_MUST_BE_ID = re.compile(r"\A([\w\[\].]+) must be an id\Z")
_FIELD_FIRST = re.compile(r"\A([a-z_]+)( .*)\Z", re.DOTALL)
_EXPECTED = re.compile(r"\AExpected `(\w+)[^`]*`, got `\w+` - at `\$\.(\w+)`\Z")
_MISSING = re.compile(r"\AObject missing required field `(\w+)`\Z")


def field_word(field: str) -> str:
    return FIELD_WORDS.get(field, field.replace("_", " "))


def plain_message(message: str, args: Mapping[str, object] | None = None) -> str:
    """`message` without op or field names; `args` (what was sent) lets it quote the value."""
    m = _BAD_ARGS.fullmatch(message)
    if m is None:
        return message
    rest = m[1]
    if found := _MUST_BE_ID.fullmatch(rest):
        field = found[1]
        value = (args or {}).get(field)
        return f"not a {field_word(field)}" + (f": {value}" if isinstance(value, str) else "")
    if found := _EXPECTED.fullmatch(rest):
        return f"the {field_word(found[2])} must be {_TYPES.get(found[1], found[1])}"
    if found := _MISSING.fullmatch(rest):
        return f"the {field_word(found[1])} is missing"
    if (found := _FIELD_FIRST.fullmatch(rest)) and found[1] in FIELD_WORDS:
        return f"the {field_word(found[1])}{found[2]}"
    return rest
