"""Changing who can sign in: revoking all of a user's devices at once, and one-time password
reset codes (only their SHA-256 is stored, as for device tokens)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from storage.database import Handle
from storage.server.accounts import lock_user


def secret_hash(secret: str) -> str:
    """The only form a device token, invite code or reset code is stored in: its SHA-256 (each
    carries 120 or more random bits, so a fast hash is enough)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ResetRecord:
    user_id: int
    username: str
    expires_at: int


async def revoke_devices(
    tx: Handle, user_id: int, now: int, *, keep: int | None = None
) -> list[int]:
    """Revoke every live device of `user_id` but `keep`; returns the ids revoked (their
    connections are the caller's to close)."""
    await lock_user(tx, user_id)  # a write of theirs racing this waits, then is refused
    async with tx.execute(
        # `id IS NOT ?` is SQLite's; comparing with 0 (no device has it) reads the same on both
        "UPDATE devices SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
        " AND id <> COALESCE(CAST(? AS BIGINT), 0) RETURNING id",
        (now, user_id, keep),
    ) as cur:
        return sorted(int(row[0]) for row in await cur.fetchall())


async def issue_reset(
    tx: Handle,
    user_id: int,
    code_hash: str,
    issued_by: int,
    now: int,
    expires_at: int,
) -> None:
    """Store a user's reset code; one a user had before is replaced (it stops working)."""
    await tx.execute(
        "INSERT INTO password_resets (user_id, code_hash, issued_by, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
        " code_hash = excluded.code_hash, issued_by = excluded.issued_by,"
        " created_at = excluded.created_at, expires_at = excluded.expires_at",
        (user_id, code_hash, issued_by, now, expires_at),
    )


async def take_reset(tx: Handle, code_hash: str) -> ResetRecord | None:
    """The reset a code stands for, burnt by this look-up whether or not it has expired (an
    expired code is no use to anyone); None if no live account has it."""
    async with tx.execute(
        "DELETE FROM password_resets WHERE code_hash = ? RETURNING user_id, expires_at",
        (code_hash,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    async with tx.execute(
        "SELECT username FROM users WHERE id = ? AND deleted_at IS NULL", (row[0],)
    ) as cur:
        user = await cur.fetchone()
    return ResetRecord(int(row[0]), str(user[0]), int(row[1])) if user else None


async def find_reset(conn: Handle, code_hash: str) -> ResetRecord | None:
    """The live account a code was issued for (expired or not), without burning it."""
    async with conn.execute(
        "SELECT r.user_id, u.username, r.expires_at FROM password_resets r"
        " JOIN users u ON u.id = r.user_id WHERE r.code_hash = ? AND u.deleted_at IS NULL",
        (code_hash,),
    ) as cur:
        row = await cur.fetchone()
    return ResetRecord(int(row[0]), str(row[1]), int(row[2])) if row else None
