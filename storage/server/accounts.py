"""Users and their devices. Tokens are never stored: only their SHA-256."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database, Handle
from storage.errors import Duplicate, UniqueViolation

MEMBER, ADMIN = "member", "admin"  # users.role
# pg_advisory_xact_lock's key for "making the server's first account" ("RoostAdm").
FIRST_ACCOUNT_LOCK = 0x526F6F737441646D
# An AccountRow per user: what `roost admin users` shows (grouped by the caller).
_ACCOUNT_ROWS = (
    "SELECT u.id, u.username, u.role, u.created_at, u.disabled_at,"
    " COUNT(d.id) FILTER (WHERE d.revoked_at IS NULL), MAX(d.last_seen_at)"
    " FROM users u LEFT JOIN devices d ON d.user_id = u.id"
)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    password_hash: str
    created_at: int
    role: str = MEMBER
    disabled_at: int | None = None

    @property
    def admin(self) -> bool:
        return self.role == ADMIN


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: int
    user_id: int
    name: str
    created_at: int
    last_seen_at: int | None


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One account as an admin sees it (storage use is counted apart: storage.server.space)."""

    id: int
    username: str
    role: str
    created_at: int
    disabled_at: int | None
    devices: int  # not revoked
    last_seen_at: int | None  # the latest of its devices, revoked ones included


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid token belongs to."""

    user_id: int
    username: str
    device_id: int
    device_name: str
    role: str = MEMBER

    @property
    def admin(self) -> bool:
        return self.role == ADMIN


class AccountRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_user(
        self,
        tx: Handle,
        user_id: int,
        username: str,
        password_hash: str,
        now: int,
        role: str = MEMBER,
    ) -> User:
        try:
            await tx.execute(
                "INSERT INTO users (id, username, password_hash, created_at, role)"
                " VALUES (?, ?, ?, ?, ?)",
                (user_id, username, password_hash, now, role),
            )
        except UniqueViolation as exc:
            raise Duplicate(username) from exc
        await tx.execute(
            "INSERT INTO profiles (user_id, display_name, bio, updated_at) VALUES (?, '', '', ?)",
            (user_id, now),
        )
        return User(user_id, username, password_hash, now, role)

    async def any_user(self, tx: Handle) -> bool:
        """Whether the server has an account yet (the first one becomes its admin)."""
        async with tx.execute("SELECT EXISTS (SELECT 1 FROM users)") as cur:
            row = await cur.fetchone()
        return bool(row and row[0])

    async def any_user_before_registering(self, tx: Handle) -> bool:
        """`any_user`, inside a registration's transaction. On PostgreSQL two registrations
        on an empty server would both see no account (READ COMMITTED) and both become its
        admin, without invites: while there is none, registrations take turns (a lock held
        to the end of the transaction), and each looks again once it has its turn. SQLite's
        single writer already gives them turns."""
        if await self.any_user(tx):
            return True
        if tx.engine != "postgresql":
            return False
        await tx.execute("SELECT pg_advisory_xact_lock(?)", (FIRST_ACCOUNT_LOCK,))
        return await self.any_user(tx)

    async def write_allowed(self, tx: Handle, identity: Identity) -> bool:
        """Whether a write of this device may run in `tx`: device live, account neither
        disabled nor deleted, as committed now; holds the account's row (FOR KEY SHARE, what
        a foreign key check takes anyway) to the end of `tx`, so a deletion or a disable
        (`lock_user`) waits for this write, or this write for it. PostgreSQL only: on SQLite
        the write waited behind the change and its session is already marked closing."""
        if tx.engine != "postgresql":
            return True
        async with tx.execute(
            "SELECT 1 FROM users u JOIN devices d ON d.user_id = u.id"
            " WHERE u.id = ? AND d.id = ? AND d.revoked_at IS NULL"
            " AND u.disabled_at IS NULL AND u.deleted_at IS NULL FOR KEY SHARE OF u",
            (identity.user_id, identity.device_id),
        ) as cur:
            return await cur.fetchone() is not None

    async def user_by_name(self, username: str, conn: Handle) -> User | None:
        """The account of that (lower-case) name; read in `conn` (a transaction) if given."""
        async with conn.execute(
            "SELECT id, username, password_hash, created_at, role, disabled_at FROM users"
            " WHERE username = ? AND deleted_at IS NULL",  # a deleted name is nobody's
            (username,),
        ) as cur:
            row = await cur.fetchone()
        return User(*row) if row else None

    async def set_password_hash(self, tx: Handle, user_id: int, password_hash: str) -> None:
        await tx.execute(  # never on a deleted account's tombstone (a change racing it)
            "UPDATE users SET password_hash = ? WHERE id = ? AND deleted_at IS NULL",
            (password_hash, user_id),
        )

    async def create_device(
        self,
        tx: Handle,
        device_id: int,
        user_id: int,
        name: str,
        token_hash: str,
        now: int,
    ) -> DeviceRecord:
        await tx.execute(
            "INSERT INTO devices (id, user_id, name, token_hash, created_at, last_seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (device_id, user_id, name, token_hash, now, now),
        )
        return DeviceRecord(device_id, user_id, name, now, now)

    async def identity_for_token(self, token_hash: str) -> Identity | None:
        async with self._db.reader.execute(
            "SELECT u.id, u.username, d.id, d.name, u.role FROM devices d"
            " JOIN users u ON u.id = d.user_id"
            " WHERE d.token_hash = ? AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
            (token_hash,),
        ) as cur:
            row = await cur.fetchone()
        return Identity(*row) if row else None

    async def why_token_refused(self, token_hash: str) -> tuple[str | None, str]:
        """Whose a token no longer working was, and why (for the handshake's refusal and its
        log line): (owner, "revoked_token" or "disabled"), or (None, "invalid_token") for a
        token that never existed. A disabled account is told so, not that its token is bad."""
        async with self._db.reader.execute(
            "SELECT u.username, d.revoked_at IS NOT NULL FROM devices d"
            " JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?",
            (token_hash,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None, "invalid_token"
        return str(row[0]), "revoked_token" if row[1] else "disabled"

    async def standing(self, device_id: int) -> tuple[str, bool, bool] | None:
        """(role, disabled, revoked) of a device's account as it is now: a connection checks
        again once it can be reached for a kick, as things may have changed since its
        handshake read its identity."""
        async with self._db.reader.execute(
            "SELECT u.role, u.disabled_at IS NOT NULL, d.revoked_at IS NOT NULL"
            " FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?",
            (device_id,),
        ) as cur:
            row = await cur.fetchone()
        return (str(row[0]), bool(row[1]), bool(row[2])) if row else None

    async def accounts(self) -> list[AccountRow]:
        async with self._db.reader.execute(
            f"{_ACCOUNT_ROWS} WHERE u.deleted_at IS NULL"  # a deleted one stays for its name
            " GROUP BY u.id ORDER BY u.created_at, u.id"
        ) as cur:
            rows = await cur.fetchall()
        return [AccountRow(*row) for row in rows]

    async def account(self, conn: Handle, user_id: int) -> AccountRow:
        async with conn.execute(
            f"{_ACCOUNT_ROWS} WHERE u.id = ? GROUP BY u.id",
            (user_id,),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None, "the account was read in this same transaction"
        return AccountRow(*row)

    async def set_role(self, tx: Handle, user_id: int, role: str) -> None:
        await tx.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))

    async def set_disabled(self, tx: Handle, user_id: int, disabled_at: int | None) -> None:
        await lock_user(tx, user_id)
        await tx.execute("UPDATE users SET disabled_at = ? WHERE id = ?", (disabled_at, user_id))

    async def active_admins(self, tx: Handle) -> int:
        """Admins who can still log in: a server must keep at least one. On PostgreSQL their
        rows stay locked to the end of `tx`: two admins demoting or disabling each other at
        once would otherwise each count two and leave none."""
        if tx.engine == "postgresql":
            async with tx.execute(
                "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL FOR UPDATE"
            ) as cur:
                return len(await cur.fetchall())
        async with tx.execute(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL"
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def devices_of(self, user_id: int) -> list[DeviceRecord]:
        async with self._db.reader.execute(
            "SELECT id, user_id, name, created_at, last_seen_at FROM devices"
            " WHERE user_id = ? AND revoked_at IS NULL ORDER BY id",
            (user_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [DeviceRecord(*row) for row in rows]

    async def revoke_device(self, tx: Handle, user_id: int, device_id: int, now: int) -> bool:
        """Revoke a device of `user_id`; False if it is not theirs or already revoked."""
        await lock_user(tx, user_id)  # a write of that device racing this waits, then is refused
        cur = await tx.execute(
            "UPDATE devices SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            (now, device_id, user_id),
        )
        return cur.rowcount == 1

    async def touch_devices(self, tx: Handle, seen: dict[int, int]) -> None:
        """Record when devices were last connected (batched: one write for many devices)."""
        await tx.executemany(
            "UPDATE devices SET last_seen_at = ? WHERE id = ?", [(t, d) for d, t in seen.items()]
        )


async def lock_user(tx: Handle, user_id: int) -> None:
    """Hold the account's row to the end of `tx` before disabling or deleting it or revoking
    its devices, so that on PostgreSQL a write of theirs racing it either commits first (and
    the change sees it) or waits and is refused (`AccountRepository.write_allowed`).
    SQLite's single writer already orders them: nothing to do there."""
    if tx.engine == "postgresql":
        await tx.execute("SELECT id FROM users WHERE id = ? FOR UPDATE", (user_id,))
