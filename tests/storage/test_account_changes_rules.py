"""The plain rules behind account changes: reset code spelling, and who inherits a share."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from protocol.account_changes import normalize_reset_code, show_reset_code
from server.accounts.password_changes import new_reset_code
from storage.server.account_deletion import ShareMember, next_owner
from storage.server.credentials import secret_hash

codes = st.binary(min_size=15, max_size=15).map(lambda b: base64.b32encode(b).decode())


@given(codes, st.sampled_from(["upper", "lower"]), st.sampled_from(["-", " ", "", " - "]))
def test_a_code_reads_back_however_it_is_typed(code: str, case: str, sep: str) -> None:
    shown = show_reset_code(code)
    typed = getattr(shown, case)().replace("-", sep)
    assert normalize_reset_code(typed) == code


@given(st.text(max_size=80))
def test_anything_else_is_no_code(text: str) -> None:
    found = normalize_reset_code(text)
    assert found is None or (len(found) == 24 and found == found.upper())


def test_new_codes_are_fresh_and_only_their_hash_is_kept() -> None:
    made = {new_reset_code() for _ in range(200)}
    assert len(made) == 200 and all(normalize_reset_code(c) == c for c in made)
    code = made.pop()
    assert code not in secret_hash(code) and len(secret_hash(code)) == 64


def test_an_editor_inherits_before_a_viewer_then_by_name() -> None:
    viewer = ShareMember(1, "aaron", "viewer")
    editors = [ShareMember(2, "zoe", "editor"), ShareMember(3, "mia", "editor")]
    assert next_owner([viewer, *editors]) == editors[1]
    assert next_owner([viewer]) == viewer
    assert next_owner([]) is None
