"""Who may register: the server's registration mode and invite codes, as plain rules, and the
check a registration makes inside its own transaction (where an invite's use is spent).

`invite` (the default): a code from `roost admin invite` is needed; `open`: anyone may;
`closed`: nobody. Whatever the mode, a server with no account yet takes its first one (the
person setting it up, who becomes its admin).
"""

from __future__ import annotations

import secrets

from protocol.errors import ErrorCode, RoostError
from storage.database import Handle
from storage.server.accounts import AccountRepository
from storage.server.credentials import secret_hash
from storage.server.invites import InviteRecord, InviteRepository

INVITE, OPEN, CLOSED = "invite", "open", "closed"
MODES = (INVITE, OPEN, CLOSED)

# Short: the TUI's form shows them on one line.
NEEDS_INVITE = "this server registers by invite: ask its admin for a code"
NOT_TAKING = "this server is not taking new accounts"
ASK_AGAIN = "ask the admin for a new one"

# Invite states, as listed
ACTIVE, EXPIRED, USED_UP, REVOKED = "active", "expired", "used up", "revoked"


def refusal(mode: str, has_accounts: bool, invite_given: bool) -> str | None:
    """Why a registration is refused before any code is looked at; None: it may go on."""
    if not has_accounts or mode == OPEN:
        return None
    if mode == CLOSED:
        return NOT_TAKING
    return None if invite_given else NEEDS_INVITE


def needs_invite(mode: str, has_accounts: bool) -> bool:
    return has_accounts and mode == INVITE


def new_invite_code() -> tuple[str, str]:
    """(id, code): the code is the id, a dash and 128 random bits; the id alone is what lists
    show and may be shown to anyone, the code is what registers."""
    invite_id = secrets.token_hex(4)
    return invite_id, f"{invite_id}-{secrets.token_urlsafe(16)}"


def invite_state(invite: InviteRecord, now: int) -> str:
    if invite.revoked_at is not None:
        return REVOKED
    if invite.expires_at is not None and invite.expires_at <= now:
        return EXPIRED
    if invite.used >= invite.uses:
        return USED_UP
    return ACTIVE


def invite_problem(invite: InviteRecord | None, now: int) -> str | None:
    """What is wrong with the code someone registers with; None: it still works."""
    if invite is None:
        return "no such invite code: check it, or ask the admin for one"
    state = invite_state(invite, now)
    if state == REVOKED:
        return f"that invite code was revoked: {ASK_AGAIN}"
    if state == EXPIRED:
        return f"that invite code has expired: {ASK_AGAIN}"
    if state == USED_UP:
        return f"that invite code is used up: {ASK_AGAIN}"
    return None


async def check_before_hashing(
    conn: Handle,
    accounts: AccountRepository,
    invites: InviteRepository,
    mode: str,
    invite: str | None,
    now: int,
) -> None:
    """Refuse early what would be refused anyway, before the password is hashed (argon2 costs
    a core for a moment): the transaction checks again, as things may change meanwhile."""
    has_accounts = await accounts.any_user(conn)
    if problem := refusal(mode, has_accounts, invite is not None):
        raise RoostError(ErrorCode.FORBIDDEN, problem)
    if needs_invite(mode, has_accounts):
        assert invite is not None
        if problem := invite_problem(await invites.by_hash(conn, secret_hash(invite)), now):
            raise RoostError(ErrorCode.FORBIDDEN, problem)


async def admit(
    tx: Handle,
    accounts: AccountRepository,
    invites: InviteRepository,
    mode: str,
    invite: str | None,
    now: int,
) -> tuple[bool, str | None]:
    """Inside the registration's transaction: (first account, id of the invite used). Spends
    one use of the invite when the mode needs one; RoostError if the account may not be made
    (the transaction then rolls back, the use with it)."""
    has_accounts = await accounts.any_user_before_registering(tx)
    if problem := refusal(mode, has_accounts, invite is not None):
        raise RoostError(ErrorCode.FORBIDDEN, problem)
    if not needs_invite(mode, has_accounts):
        return not has_accounts, None
    assert invite is not None
    hashed = secret_hash(invite)
    if not await invites.use(tx, hashed, now):
        record = await invites.by_hash(tx, hashed)
        raise RoostError(ErrorCode.FORBIDDEN, invite_problem(record, now) or NEEDS_INVITE)
    record = await invites.by_hash(tx, hashed)
    return False, record.id if record else None
