"""Accounts and devices through a real server and the real client connection."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from client.errors import AuthRejected, ConnectionLost, ServerError
from protocol import accounts as wire
from protocol.accounts import RevokeDevice
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, SECOND


async def test_register_then_use_the_token(live: LiveServer) -> None:
    session = await live.register("Alice", device="laptop")
    assert session.username == "alice"  # usernames are case-insensitive, stored lower-case
    conn = await live.connect(session.token)
    me = await conn.call("auth.whoami")
    assert (me.username, me.device_name, me.device_id) == ("alice", "laptop", session.device_id)
    await conn.close()


async def test_login_on_a_second_device_lists_both(live: LiveServer) -> None:
    first = await live.register("bob", device="desk")
    second = await live.login("BOB", device="phone")
    assert second.user_id == first.user_id and second.device_id != first.device_id
    assert second.token != first.token
    conn = await live.connect(second.token)
    devices = (await conn.call("devices.list")).devices
    assert [(d.name, d.current) for d in devices] == [("desk", False), ("phone", True)]
    await conn.close()


async def test_wrong_password_and_unknown_user_get_the_same_answer(live: LiveServer) -> None:
    await live.register("carol")
    conn = await live.connect(None)
    for username in ("carol", "nobody_here"):
        with pytest.raises(ServerError) as err:
            await conn.call(
                "auth.login", wire.Credentials(username=username, password="not the password")
            )
        assert err.value.code == "invalid_credentials"
        assert err.value.message == "wrong username or password"
    await conn.close()


async def test_duplicate_username_is_refused_even_when_racing(live: LiveServer) -> None:
    await live.register("dave")
    with pytest.raises(ServerError) as err:
        await live.register("DAVE")
    assert err.value.code == "username_taken"
    # Two registrations of one new name at once: exactly one wins.
    results = await asyncio.gather(
        live.register("erin"), live.register("erin"), return_exceptions=True
    )
    assert sum(isinstance(r, wire.DeviceSession) for r in results) == 1
    assert [r.code for r in results if isinstance(r, ServerError)] == ["username_taken"]


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Basic abc", "Bearer "])
async def test_bad_token_is_refused_at_the_handshake(live: LiveServer, header: str) -> None:
    with pytest.raises(InvalidStatus) as err:
        async with connect(live.url, additional_headers={"Authorization": header}):
            pass
    assert err.value.response.status_code == 401


async def test_anonymous_connection_may_only_register_or_log_in(live: LiveServer) -> None:
    conn = await live.connect(None)
    for op in ("auth.whoami", "devices.list", "profile.get", "auth.logout"):
        with pytest.raises(ServerError) as err:
            await conn.call(op)
        assert err.value.code == "unauthenticated", op
    await conn.close()


async def test_revoked_device_is_cut_off_and_refused_afterwards(live: LiveServer) -> None:
    desk = await live.register("frank", device="desk")
    phone = await live.login("frank", device="phone")
    phone_conn = await live.connect(phone.token)
    desk_conn = await live.connect(desk.token)

    await desk_conn.call("devices.revoke", RevokeDevice(device_id=phone.device_id))

    await asyncio.wait_for(phone_conn.wait_closed(), 5 * SECOND)  # its live connection is closed
    assert phone_conn.close_reason == "4001 device token revoked"
    with pytest.raises(AuthRejected):
        await live.connect(phone.token)
    assert [d.name for d in (await desk_conn.call("devices.list")).devices] == ["desk"]
    await desk_conn.close()


async def test_cannot_revoke_someone_elses_device(live: LiveServer) -> None:
    gina = await live.register("gina")
    hank = await live.register("hank")
    conn = await live.connect(gina.token)
    with pytest.raises(ServerError) as err:
        await conn.call("devices.revoke", RevokeDevice(device_id=hank.device_id))
    assert err.value.code == "not_found"
    hank_conn = await live.connect(hank.token)  # hank's device still works
    assert (await hank_conn.call("auth.whoami")).username == "hank"
    await asyncio.gather(conn.close(), hank_conn.close())


async def test_logout_revokes_the_calling_device(live: LiveServer) -> None:
    ivy = await live.register("ivy")
    conn = await live.connect(ivy.token)
    await conn.call("auth.logout")
    with pytest.raises((ServerError, ConnectionLost)):
        await conn.call("auth.whoami")  # the connection is no longer logged in
    with pytest.raises(AuthRejected):
        await live.connect(ivy.token)
    await conn.close()


async def everything_stored(live: LiveServer) -> bytes:
    """The server's whole database: SQLite's file and its log, or every row of every table
    of PostgreSQL's, as text."""
    db = live.server.db
    if db.engine == "sqlite":
        raw = live.server.config.database_path.read_bytes()
        wal = live.server.config.database_path.with_name("roost.db-wal")
        return raw + (wal.read_bytes() if wal.exists() else b"")
    async with db.reader.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ) as cur:
        tables = [str(r[0]) for r in await cur.fetchall()]
    assert "devices" in tables and "users" in tables
    rows = []
    for table in tables:
        async with db.reader.execute(f'SELECT t::text FROM "{table}" t') as cur:
            rows += [str(r[0]) for r in await cur.fetchall()]
    assert any("jack" in r for r in rows)  # the rows were read
    return "\n".join(rows).encode()


async def test_token_is_stored_only_as_a_hash(live: LiveServer) -> None:
    session = await live.register("jack")
    stored = await everything_stored(live)
    assert session.token.encode() not in stored
    assert PASSWORD.encode() not in stored
