"""Admin ops through the real server and the client core: invites raced for, accounts
disabled and enabled (live connections closed, tokens and logins refused), roles changed
under live sessions, the last admin kept, and every action logged with who did it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.connection import Connection
from client.errors import AuthRejected, ServerError
from protocol import accounts as wire
from protocol.admin import AccountRef, CreateInvite, RevokeInvite
from protocol.ops import OPS
from tests.conftest import LiveServer, start_server
from tests.helpers import SECOND

ADMIN_OPS = sorted(op for op in OPS if op.startswith("admin."))


@pytest.fixture
async def invite_only(tmp_path: Path, database_url: str | None) -> AsyncIterator[LiveServer]:
    server = await start_server(
        tmp_path / "server", registration="invite", database_url=database_url
    )
    try:
        yield LiveServer(server)
    finally:
        await server.stop()


async def admin_and(live: LiveServer, *names: str) -> tuple[Connection, list[wire.DeviceSession]]:
    """The admin's live connection, and members registered with an invite each."""
    admin = await live.connect((await live.register("alice")).token)
    sessions = []
    for name in names:
        made = await admin.call("admin.invites.create", CreateInvite())
        sessions.append(await live.register(name, invite=made.code))
    return admin, sessions


async def test_racing_registrations_on_a_last_use_make_exactly_one_account(
    invite_only: LiveServer,
) -> None:
    admin, _ = await admin_and(invite_only)
    made = await admin.call("admin.invites.create", CreateInvite(uses=1))
    outcomes = await asyncio.gather(
        *(invite_only.register(f"racer{i}", invite=made.code) for i in range(8)),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, wire.DeviceSession)]
    lost = [o for o in outcomes if not isinstance(o, wire.DeviceSession)]
    assert len(won) == 1, outcomes
    assert all(isinstance(e, ServerError) and e.code == "forbidden" for e in lost), lost
    assert all("is used up" in e.message for e in lost if isinstance(e, ServerError)), lost
    listed = (await admin.call("admin.invites.list")).invites
    assert [(i.uses, i.uses_left, i.state) for i in listed] == [(1, 0, "used up")]
    names = [u.username for u in (await admin.call("admin.users.list")).users]
    assert names == ["alice", won[0].username]
    await admin.close()


async def test_racing_first_registrations_make_exactly_one_admin(
    invite_only: LiveServer,
) -> None:
    """On a new server the first account needs no invite and becomes its admin: eight people
    registering at once get one admin, and the others are asked for an invite."""
    outcomes = await asyncio.gather(
        *(invite_only.register(f"first{i}") for i in range(8)), return_exceptions=True
    )
    won = [o for o in outcomes if isinstance(o, wire.DeviceSession)]
    lost = [o for o in outcomes if not isinstance(o, wire.DeviceSession)]
    assert [w.role for w in won] == ["admin"], outcomes
    assert all(isinstance(e, ServerError) and e.code == "forbidden" for e in lost), lost
    admin = await invite_only.connect(won[0].token)
    try:
        users = (await admin.call("admin.users.list")).users
        assert [(u.username, u.role) for u in users] == [(won[0].username, "admin")]
    finally:
        await admin.close()


async def test_two_admins_demoting_each_other_at_once_leave_one(invite_only: LiveServer) -> None:
    """The server keeps an admin even when its two admins demote each other at the same
    moment: one demotion goes through, the other is refused."""
    admin, [bob] = await admin_and(invite_only, "bob")
    bob_conn = await invite_only.connect(bob.token)
    try:
        for _ in range(5):
            await admin.call("admin.users.promote", AccountRef(username="bob"))
            outcomes = await asyncio.gather(
                admin.call("admin.users.demote", AccountRef(username="bob")),
                bob_conn.call("admin.users.demote", AccountRef(username="alice")),
                return_exceptions=True,
            )
            refused = [o for o in outcomes if isinstance(o, BaseException)]
            assert len(refused) == 1, outcomes
            assert isinstance(refused[0], ServerError) and refused[0].code == "conflict"
            still_admin = bob_conn if isinstance(outcomes[0], BaseException) else admin
            users = (await still_admin.call("admin.users.list")).users
            assert sorted(u.role for u in users) == ["admin", "member"], users
            if still_admin is bob_conn:  # bob won: he hands it back for the next round
                await bob_conn.call("admin.users.promote", AccountRef(username="alice"))
                await bob_conn.call("admin.users.demote", AccountRef(username="bob"))
    finally:
        await bob_conn.close()
        await admin.close()


ARGS = {
    "admin.invites.create": CreateInvite(),
    "admin.invites.revoke": RevokeInvite(code="abcdef12"),
    "admin.invites.list": None,
    "admin.users.list": None,
}


async def test_a_member_is_refused_every_admin_op(invite_only: LiveServer) -> None:
    admin, [bob] = await admin_and(invite_only, "bob")
    member = await invite_only.connect(bob.token)
    for op in ADMIN_OPS:
        with pytest.raises(ServerError) as refused:
            await member.call(op, ARGS.get(op, AccountRef(username="alice")))
        assert refused.value.code == "forbidden", op
        assert refused.value.message == "only an admin of this server may do that"
    [alice] = [u for u in (await admin.call("admin.users.list")).users if u.username == "alice"]
    assert alice.role == "admin" and alice.disabled_at is None
    [spent] = (await admin.call("admin.invites.list")).invites  # bob's own, nothing new
    assert spent.state == "used up"
    await member.close()
    await admin.close()


async def test_disabling_closes_live_connections_and_refuses_tokens_and_logins(
    invite_only: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    admin, [bob] = await admin_and(invite_only, "bob")
    phone = await invite_only.login("bob", device="phone")
    laptop_conn = await invite_only.connect(bob.token)
    phone_conn = await invite_only.connect(phone.token)
    assert (await laptop_conn.call("auth.whoami")).username == "bob"

    with caplog.at_level(logging.INFO, logger="roost.admin"):
        summary = await admin.call("admin.users.disable", AccountRef(username="Bob"))
    assert summary.username == "bob" and summary.disabled_at is not None
    assert "alice disabled bob from 127.0.0.1" in caplog.text

    for conn in (laptop_conn, phone_conn):  # every device's connection, at once
        async with asyncio.timeout(5 * SECOND):
            await conn.wait_closed()
        with pytest.raises(AuthRejected, match="this account is disabled"):
            await conn.call("auth.whoami")
    with pytest.raises(AuthRejected, match=r"^this account is disabled: ask the server.s admin$"):
        await invite_only.connect(bob.token)  # refused at the handshake (403)
    with pytest.raises(ServerError, match="this account is disabled") as login:
        await invite_only.login("bob")
    assert login.value.code == "forbidden"

    enabled = await admin.call("admin.users.enable", AccountRef(username="bob"))
    assert enabled.disabled_at is None
    again = await invite_only.connect(bob.token)  # the same device works again
    assert (await again.call("auth.whoami")).username == "bob"
    assert (await invite_only.login("bob", device="tablet")).username == "bob"
    for conn in (again, laptop_conn, phone_conn, admin):
        await conn.close()


async def test_a_disabled_callers_op_in_flight_gets_no_further_ops(
    invite_only: LiveServer,
) -> None:
    """Requests a disabled account had sent before its connection closed are not run."""
    admin, [bob] = await admin_and(invite_only, "bob")
    conn = await invite_only.connect(bob.token)
    await admin.call("admin.users.disable", AccountRef(username="bob"))
    with pytest.raises((AuthRejected, ServerError)) as refused:
        await conn.call("post.create", {"text": "sneaking in", "client_id": "k" * 12})
    if isinstance(refused.value, ServerError):
        assert refused.value.code == "unauthenticated"
    await admin.call("admin.users.enable", AccountRef(username="bob"))
    posts = await (await invite_only.connect(bob.token)).call("timeline.user", {"username": "bob"})
    assert posts.posts == []
    await admin.close()


async def test_promote_and_demote_reach_live_sessions_at_once(invite_only: LiveServer) -> None:
    admin, [bob] = await admin_and(invite_only, "bob")
    bob_conn = await invite_only.connect(bob.token)
    with pytest.raises(ServerError, match="only an admin"):
        await bob_conn.call("admin.users.list")

    promoted = await admin.call("admin.users.promote", AccountRef(username="bob"))
    assert promoted.role == "admin"
    assert (await bob_conn.call("auth.whoami")).role == "admin"  # the same connection
    assert len((await bob_conn.call("admin.users.list")).users) == 2

    await admin.call("admin.users.demote", AccountRef(username="bob"))
    assert (await bob_conn.call("auth.whoami")).role == "member"
    with pytest.raises(ServerError, match="only an admin"):
        await bob_conn.call("admin.invites.create", CreateInvite())
    await bob_conn.close()
    await admin.close()


async def test_the_last_admin_can_neither_demote_nor_disable_themselves(
    invite_only: LiveServer,
) -> None:
    admin, [bob] = await admin_and(invite_only, "bob")
    for op in ("admin.users.demote", "admin.users.disable"):
        with pytest.raises(ServerError, match="the server must keep an admin") as refused:
            await admin.call(op, AccountRef(username="alice"))
        assert refused.value.code == "conflict"
    assert (await admin.call("auth.whoami")).role == "admin"

    await admin.call("admin.users.promote", AccountRef(username="bob"))
    bob_conn = await invite_only.connect(bob.token)
    await bob_conn.call("admin.users.disable", AccountRef(username="alice"))  # two admins: may
    async with asyncio.timeout(5 * SECOND):
        await admin.wait_closed()
    # alice is disabled, so bob is the only admin who can log in: he must stay one
    with pytest.raises(ServerError, match="the server must keep an admin"):
        await bob_conn.call("admin.users.demote", AccountRef(username="bob"))
    await bob_conn.call("admin.users.demote", AccountRef(username="alice"))  # she is no help
    await bob_conn.call("admin.users.enable", AccountRef(username="alice"))
    roles = {u.username: u.role for u in (await bob_conn.call("admin.users.list")).users}
    assert roles == {"alice": "member", "bob": "admin"}
    await bob_conn.close()


async def test_admin_users_lists_devices_last_seen_and_storage(invite_only: LiveServer) -> None:
    admin, _ = await admin_and(invite_only, "bob")
    await invite_only.login("bob", device="phone")
    listed = {u.username: u for u in (await admin.call("admin.users.list")).users}
    assert listed["bob"].devices == 2 and listed["bob"].role == "member"
    assert listed["bob"].last_seen_at is not None and listed["bob"].disabled_at is None
    assert listed["alice"].role == "admin" and listed["alice"].used_bytes == 0
    with pytest.raises(ServerError, match="no account named 'nobody'") as missing:
        await admin.call("admin.users.disable", AccountRef(username="nobody"))
    assert missing.value.code == "not_found"
    await admin.close()
