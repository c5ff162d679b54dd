"""The registration and admin rules as plain functions: modes, invite states and the last
admin (the same rules the server runs inside its transactions)."""

from __future__ import annotations

import re

import msgspec
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from cli.admin_invites import expiry_seconds
from cli.options import duration_seconds
from protocol.admin import INVITE_ID
from protocol.errors import ErrorCode, RoostError
from protocol.ops import OPS
from server.accounts import registration as rules
from server.accounts.admin import DEMOTE, DISABLE, ENABLE, LAST_ADMIN, PROMOTE, change_problem
from storage.server.accounts import ADMIN, MEMBER, User
from storage.server.credentials import secret_hash
from storage.server.invites import InviteRecord

NOW = 1_000_000


def invite(**changes: object) -> InviteRecord:
    fields: dict[str, object] = dict(
        id="abcdef12", code_hash="h", created_by="alice", created_at=0, expires_at=None,
        uses=2, used=0, revoked_at=None,
    )  # fmt: skip
    fields.update(changes)
    return InviteRecord(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "has_accounts", "invite_given", "refusal"),
    [
        (rules.INVITE, False, False, None),  # the first account, whatever the mode
        (rules.CLOSED, False, False, None),
        (rules.OPEN, False, False, None),
        (rules.OPEN, True, False, None),
        (rules.OPEN, True, True, None),
        (rules.INVITE, True, True, None),  # the code itself is checked next
        (rules.INVITE, True, False, rules.NEEDS_INVITE),
        (rules.CLOSED, True, True, rules.NOT_TAKING),
        (rules.CLOSED, True, False, rules.NOT_TAKING),
    ],
)
def test_who_may_register(
    mode: str, has_accounts: bool, invite_given: bool, refusal: str | None
) -> None:
    assert rules.refusal(mode, has_accounts, invite_given) == refusal
    assert rules.needs_invite(mode, has_accounts) == (mode == rules.INVITE and has_accounts)


def test_an_invites_state_and_what_is_wrong_with_it() -> None:
    assert rules.invite_state(invite(), NOW) == rules.ACTIVE
    assert rules.invite_problem(invite(), NOW) is None
    assert rules.invite_problem(invite(expires_at=NOW + 1), NOW) is None
    cases = [
        (invite(used=2), rules.USED_UP, "is used up"),
        (invite(expires_at=NOW), rules.EXPIRED, "has expired"),
        (invite(revoked_at=1, used=2, expires_at=1), rules.REVOKED, "was revoked"),
    ]
    for record, state, problem in cases:
        assert rules.invite_state(record, NOW) == state
        assert problem in (rules.invite_problem(record, NOW) or ""), record
    assert "no such invite code" in (rules.invite_problem(None, NOW) or "")
    for record in (None, invite(used=2), invite(expires_at=1), invite(revoked_at=1)):
        assert len(rules.invite_problem(record, NOW) or "") <= 60  # one line of the TUI form
    assert len(rules.NEEDS_INVITE) <= 60 and len(rules.NOT_TAKING) <= 60


def test_invite_codes_are_unguessable_and_start_with_their_id() -> None:
    codes = [rules.new_invite_code() for _ in range(200)]
    for invite_id, code in codes:
        assert re.fullmatch(INVITE_ID, invite_id)
        assert code.startswith(invite_id + "-") and len(code) >= 8 + 1 + 22  # 128 bits
        assert secret_hash(code) != secret_hash(invite_id)
    assert len({code for _, code in codes}) == 200


def account(role: str = MEMBER, disabled: bool = False) -> User:
    return User(1, "someone", "hash", 0, role, 5 if disabled else None)


@pytest.mark.parametrize(
    ("change", "target", "active_admins", "problem"),
    [
        (DEMOTE, account(ADMIN), 1, LAST_ADMIN),
        (DISABLE, account(ADMIN), 1, LAST_ADMIN),
        (DEMOTE, account(ADMIN), 2, None),
        (DISABLE, account(ADMIN), 2, None),
        (DEMOTE, account(ADMIN, disabled=True), 1, None),  # not the one who can log in
        (DISABLE, account(MEMBER), 1, None),
        (PROMOTE, account(MEMBER), 1, None),
        (ENABLE, account(ADMIN, disabled=True), 0, None),  # enabling brings one back
        (PROMOTE, account(ADMIN), 1, None),
    ],
)
def test_a_server_keeps_an_admin_who_can_log_in(
    change: str, target: User, active_admins: int, problem: str | None
) -> None:
    assert change_problem(change, target, active_admins) == problem


@pytest.mark.parametrize(
    ("text", "seconds"), [("2s", 2), ("2", 2), ("10m", 600), ("24h", 86400), (" 7D ", 604800)]
)
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text, "--expires") == seconds


@given(st.text(max_size=12))
def test_any_expiry_text_is_a_number_of_seconds_never_or_a_usage_error(text: str) -> None:
    try:
        seconds = expiry_seconds(text)
    except typer.BadParameter as exc:
        assert exc.param_hint == "--expires" and str(exc)
        return
    assert seconds is None or 1 <= seconds <= 366 * 86400
    assert (seconds is None) == (text.strip().lower() == "never")


@given(st.text(max_size=80))
def test_any_invite_text_is_taken_whole_or_refused_by_its_field_rule(code: str) -> None:
    raw = msgspec.json.encode({"username": "newbie", "password": "long enough", "invite": code})
    try:
        args = OPS["auth.register"].decode_args(raw)
    except RoostError as exc:
        assert exc.code == ErrorCode.INVALID_ARGS and "invite" in exc.message
        return
    assert args.invite == code and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", code)


def test_a_code_as_made_passes_the_field_rule() -> None:
    _, code = rules.new_invite_code()
    raw = msgspec.json.encode({"username": "newbie", "password": "long enough", "invite": code})
    assert OPS["auth.register"].decode_args(raw).invite == code
    login = msgspec.json.encode({"username": "newbie", "password": "long enough", "invite": code})
    with pytest.raises(RoostError):  # only registration takes a code
        OPS["auth.login"].decode_args(login)
