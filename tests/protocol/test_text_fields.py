"""Every text field of every op's args: anchored at its true end (a trailing newline is not
`$`'s to forgive), free text refusing control characters, and the refusal readable."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import chat, files, social, types
from protocol.errors import RoostError
from protocol.ops import OPS
from tests.hostile import FREE_TEXT, MULTI_LINE, SEQUENCES, pattern_of, str_fields, unsafe_in

# Text fields without a character rule here, and why.
EXEMPT = {
    ("auth.register", "password"): "never shown; a rule could lock out an existing account",
    ("auth.login", "password"): "never shown; a rule could lock out an existing account",
    ("auth.change_password", "old_password"): "a password: checked, never shown",
    ("auth.change_password", "new_password"): "a password: as at registration",
    ("auth.reset_password", "new_password"): "a password: as at registration",
    ("link.create", "password"): "a link's password: checked, never shown",
    (
        "link.remove",
        "link",
    ): "a token, an id or a link's URL: compared with what is stored, never shown",
    **{
        (op, field): "a path: protocol.files.validate_path decides (controls refused there)"
        for op, field in [
            ("files.commit", "items[].path"),
            ("files.announce", "path"),
            ("files.history", "path"),
            ("files.purge", "path"),
            ("files.restore", "path"),
            ("files.move", "src"),
            ("files.move", "dst"),
            ("link.create", "path"),
            ("files.share", "folder"),
            ("files.unshare", "folder"),
            ("files.share.leave", "folder"),
        ]
    },
}
FIELDS = sorted(
    (op, field, pattern_of(t))
    for op, spec in OPS.items()
    for field, t in str_fields(spec.args).items()
    if (op, field) not in EXEMPT
)


def test_every_text_field_has_an_anchored_rule() -> None:
    for op, field, pattern in FIELDS:
        assert pattern is not None, f"{op} {field}: free text with no rule; see EXEMPT"
        assert pattern.startswith(r"\A") and pattern.endswith(r"\Z"), (op, field, pattern)
        assert "$" not in pattern and "^" not in pattern.replace("[^", ""), (op, field, pattern)


def test_free_text_fields_use_the_shared_rule() -> None:
    free = {(op, field): pattern for op, field, pattern in FIELDS if (op, field) in FREE_TEXT}
    assert set(free) == FREE_TEXT  # none went missing from the op table
    for key, pattern in free.items():
        expected = types.MULTI_LINE if key in MULTI_LINE else types.SINGLE_LINE
        assert pattern == expected, key
    others = {(op, f) for op, f, p in FIELDS} - FREE_TEXT
    assert all(
        p not in (types.SINGLE_LINE, types.MULTI_LINE) for op, f, p in FIELDS if (op, f) in others
    )


# ------------------------------------------------------------------------------ accepted values
NAME_TYPES: dict[str, Any] = {
    "Username": types.Username,
    "DeviceName": types.DeviceName,
    "DisplayName": types.DisplayName,
    "GroupName": chat.GroupName,
    "AttachmentName": files.AttachmentName,
    "Query": social.Query,
    "Target": chat.Target,
    "ClientId": types.ClientId,
    "Id": types.Id,
}
TEXT_TYPES: dict[str, Any] = {
    "Bio": types.Bio,
    "PostText": social.PostText,
    "MessageText": chat.MessageText,
}
CONTROL = st.characters(
    codec="utf-8",
    categories=["Cc"],
) | st.sampled_from(["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2069"])
# Valid-looking names with something unsafe inserted, appended (`alice\n`) or prepended.
tampered = st.builds(
    lambda base, bad, where: (
        base + bad
        if where == "end"
        else bad + base
        if where == "start"
        else base[:2] + bad + base[2:]
    ),
    st.from_regex(r"[a-z0-9_]{3,12}", fullmatch=True),
    CONTROL | st.sampled_from(["\n", "\r\n", *SEQUENCES.values()]),
    st.sampled_from(["end", "start", "middle"]),
)
candidates = st.text(max_size=40) | tampered


def accepts(kind: Any, value: str) -> bool:
    try:
        msgspec.json.decode(msgspec.json.encode(value), type=kind)
    except msgspec.ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(NAME_TYPES))
@given(value=candidates)
def test_no_accepted_name_holds_a_control_character_or_a_newline(name: str, value: str) -> None:
    if accepts(NAME_TYPES[name], value):
        assert not unsafe_in(value) and "\n" not in value and "\t" not in value, repr(value)


@pytest.mark.parametrize("name", sorted(TEXT_TYPES))
@given(value=candidates)
def test_multi_line_text_holds_nothing_but_newlines_and_tabs(name: str, value: str) -> None:
    if accepts(TEXT_TYPES[name], value):
        assert not unsafe_in(value), repr(value)


def test_lines_and_tabs_stay_allowed_where_text_has_lines() -> None:
    for kind in TEXT_TYPES.values():
        assert accepts(kind, "two\nlines\tand a tab")
    assert not accepts(types.DisplayName, "two\nlines")
    assert not accepts(types.Username, "alice\n")  # what `$` used to let through
    assert accepts(types.Username, "alice")


@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
@pytest.mark.parametrize(("op", "field"), sorted(FREE_TEXT))
def test_each_sequence_is_refused_in_each_free_text_field_with_a_clear_message(
    op: str, field: str, sequence: str
) -> None:
    value = "hi " + SEQUENCES[sequence]
    args = {"username": "alice", "password": "long enough", "to": "@bob", "members": []}
    args |= {"size": 1, "text": "t", "query": "q", "name": "n"}
    args[field] = value
    known = {f.name for f in msgspec.inspect.type_info(OPS[op].args).fields}  # type: ignore[attr-defined]
    raw = msgspec.json.encode({k: v for k, v in args.items() if k in known})
    with pytest.raises(RoostError) as refused:
        OPS[op].decode_args(raw)
    message = refused.value.message
    assert refused.value.code == "invalid_args"
    assert re.search(rf"{re.escape(field)} must be .*no control characters", message), message
    assert not unsafe_in(message) and "\n" not in message


def test_without_controls_repairs_a_name() -> None:
    assert types.without_controls("alice\n") == "alice"
    assert types.without_controls("\x1b]0;pwned\x07 Bob") == "]0;pwned Bob"
    assert types.without_controls("  spaced  ") == "  spaced  "  # untouched when clean
    assert types.without_controls("\u202egnp.exe") == "gnp.exe"
