"""Changing a password and resetting a lost one, through the real server and client core."""

from __future__ import annotations

import asyncio

import pytest

from client.connection import Connection
from client.errors import AuthRejected, ServerError
from protocol import accounts as wire
from protocol.account_changes import (
    ChangePassword,
    DeleteUser,
    IssueReset,
    RedeemReset,
    normalize_reset_code,
)
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, SECOND

NEW = "a brand new password"


async def login(live: LiveServer, username: str, password: str) -> wire.DeviceSession:
    conn = Connection(live.url)
    await conn.open()
    try:
        session: wire.DeviceSession = await conn.call(
            "auth.login", wire.Credentials(username=username, password=password)
        )
        return session
    finally:
        await conn.close()


async def anonymous_call(live: LiveServer, op: str, args: object) -> object:
    conn = Connection(live.url)
    await conn.open()
    try:
        return await conn.call(op, args)
    finally:
        await conn.close()


async def closed_with(conn: Connection) -> str | None:
    """How the server ended this connection ("4001 device token revoked...": waits for it)."""
    async with asyncio.timeout(5 * SECOND):
        await conn.wait_closed()
    return conn.close_reason


async def test_a_wrong_old_password_is_refused_and_counted_like_a_login(
    live: LiveServer,
) -> None:
    session = await live.register("alice")
    conn = await live.connect(session.token)
    try:
        codes = []
        for i in range(7):
            with pytest.raises(ServerError) as refused:
                await conn.call(
                    "auth.change_password",
                    ChangePassword(old_password=f"guess {i}", new_password=NEW),
                )
            codes.append(refused.value.code)
        # the login's limits: five failures free, then a wait (no password is checked)
        assert codes == ["invalid_credentials"] * 5 + ["rate_limited"] * 2
        with pytest.raises(ServerError) as waiting:  # even the right one waits its turn
            await conn.call(
                "auth.change_password", ChangePassword(old_password=PASSWORD, new_password=NEW)
            )
        assert waiting.value.code == "rate_limited"
    finally:
        await conn.close()
    # the guesses through the token also slowed logins from that address
    with pytest.raises(ServerError) as login_refused:
        await login(live, "alice", PASSWORD)
    assert login_refused.value.code == "rate_limited"


async def test_a_changed_password_keeps_other_devices_unless_asked(live: LiveServer) -> None:
    first = await live.register("alice", device="laptop")
    phone = await live.login("alice", device="phone")
    laptop_conn, phone_conn = await live.connect(first.token), await live.connect(phone.token)
    try:
        short = ChangePassword(old_password=PASSWORD, new_password="short")
        with pytest.raises(ServerError) as too_short:
            await laptop_conn.call("auth.change_password", short)
        assert too_short.value.code == "invalid_args" and "at least 8" in too_short.value.message

        done = await laptop_conn.call(
            "auth.change_password", ChangePassword(old_password=PASSWORD, new_password=NEW)
        )
        assert done.devices_logged_out == 0
        assert (await phone_conn.call("auth.whoami")).device_name == "phone"  # still in
        with pytest.raises(ServerError) as old:
            await login(live, "alice", PASSWORD)
        assert old.value.code == "invalid_credentials"
        tablet = await login(live, "alice", NEW)

        again = ChangePassword(old_password=NEW, new_password=PASSWORD, log_out_others=True)
        done = await laptop_conn.call("auth.change_password", again)
        assert done.devices_logged_out == 2  # the phone and the tablet
        assert (await closed_with(phone_conn) or "").startswith("4001 ")  # closed at once
        for token in (phone.token, tablet.token):
            with pytest.raises(AuthRejected):
                await live.connect(token)
        assert (await laptop_conn.call("auth.whoami")).device_name == "laptop"
    finally:
        await laptop_conn.close()
        await phone_conn.close()


async def test_a_reset_code_works_once_and_logs_every_device_out(live: LiveServer) -> None:
    admin = await live.register("root")
    alice = await live.register("alice")
    root_conn, alice_conn = await live.connect(admin.token), await live.connect(alice.token)
    try:
        with pytest.raises(ServerError) as not_admin:
            await alice_conn.call("admin.reset_password", IssueReset(username="root"))
        assert not_admin.value.code == "forbidden"
        with pytest.raises(ServerError) as nobody:
            await root_conn.call("admin.reset_password", IssueReset(username="nobody"))
        assert nobody.value.code == "not_found"

        replaced = await root_conn.call("admin.reset_password", IssueReset(username="Alice"))
        issued = await root_conn.call("admin.reset_password", IssueReset(username="alice"))
        assert issued.username == "alice" and issued.code != replaced.code
        assert normalize_reset_code(issued.code) is not None

        with pytest.raises(ServerError) as old_code:  # a new code voids the last one
            await anonymous_call(
                live, "auth.reset_password", RedeemReset(code=replaced.code, new_password=NEW)
            )
        assert old_code.value.code == "invalid_credentials"
        with pytest.raises(ServerError) as short:  # refused before the code is spent
            await anonymous_call(
                live, "auth.reset_password", RedeemReset(code=issued.code, new_password="short")
            )
        assert short.value.code == "invalid_args"

        typed = issued.code.lower().replace("-", " ")  # as someone might type it
        done = await anonymous_call(
            live, "auth.reset_password", RedeemReset(code=typed, new_password=NEW)
        )
        assert (done.username, done.devices_logged_out) == ("alice", 1)
        assert (await closed_with(alice_conn) or "").startswith("4001 ")
        with pytest.raises(AuthRejected):
            await live.connect(alice.token)
        with pytest.raises(ServerError):
            await login(live, "alice", PASSWORD)
        await login(live, "alice", NEW)

        with pytest.raises(ServerError) as twice:
            await anonymous_call(
                live, "auth.reset_password", RedeemReset(code=issued.code, new_password=PASSWORD)
            )
        assert twice.value.code == "invalid_credentials" and "no such reset code" in str(
            twice.value.message
        )
    finally:
        await root_conn.close()
        await alice_conn.close()


async def test_an_expired_reset_code_is_refused(live: LiveServer) -> None:
    admin = await live.register("root")
    await live.register("alice")
    root_conn = await live.connect(admin.token)
    try:
        issued = await root_conn.call("admin.reset_password", IssueReset(username="alice"))
    finally:
        await root_conn.close()
    async with live.server.db.write() as tx:  # a day has passed
        await tx.execute("UPDATE password_resets SET expires_at = expires_at - 86400001")
    with pytest.raises(ServerError) as expired:
        await anonymous_call(
            live, "auth.reset_password", RedeemReset(code=issued.code, new_password=NEW)
        )
    assert expired.value.code == "invalid_credentials" and "expired" in expired.value.message
    await login(live, "alice", PASSWORD)  # the password is unchanged


async def test_guessing_reset_codes_slows_an_address_down(live: LiveServer) -> None:
    codes = []
    for i in range(7):
        with pytest.raises(ServerError) as refused:
            await anonymous_call(
                live,
                "auth.reset_password",
                RedeemReset(code=f"AAAA-BBBB-CCCC-DDDD-EEEE-FFF{i + 2}", new_password=NEW),
            )
        codes.append(refused.value.code)
    assert codes == ["invalid_credentials"] * 5 + ["rate_limited"] * 2


async def test_a_deleted_accounts_reset_code_is_void(live: LiveServer) -> None:
    admin = await live.register("root")
    await live.register("alice")
    root_conn = await live.connect(admin.token)
    try:
        issued = await root_conn.call("admin.reset_password", IssueReset(username="alice"))
        await root_conn.call("admin.delete_user", DeleteUser(username="alice"))
        with pytest.raises(ServerError) as gone:
            await root_conn.call("admin.reset_password", IssueReset(username="alice"))
        assert gone.value.code == "not_found"
    finally:
        await root_conn.close()
    with pytest.raises(ServerError) as void:
        await anonymous_call(
            live, "auth.reset_password", RedeemReset(code=issued.code, new_password=NEW)
        )
    assert void.value.code == "invalid_credentials"
