"""Registration modes and invite codes through the real `roost` command and a real server:
the first account on a new server is its admin whatever the mode; after it, `invite` (the
default) needs a code from `roost admin invite`, `closed` refuses, `open` lets anyone in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.conftest import LiveServer, start_server
from tests.helpers import PASSWORD, SECOND, CliResult, Home, ServerProcess

NEEDS_INVITE = "error: this server registers by invite: ask its admin for a code"


async def register(home: Home, username: str, *invite: str) -> CliResult:
    return await home.run("register", username, "--password-stdin", *invite, stdin=PASSWORD + "\n")


def one_line_error(result: CliResult) -> str:
    assert result.code == 1, result
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


@pytest.fixture
async def invite_only(tmp_path: Path) -> AsyncIterator[LiveServer]:
    server = await start_server(tmp_path / "server", registration="invite")
    try:
        yield LiveServer(server)
    finally:
        await server.stop()


async def test_serve_registers_by_invite_by_default_and_its_first_account_is_the_admin(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    server = await ServerProcess(tmp_path / "data", registration=None).start()  # the default
    try:
        await server.logged("registration: invite; no account yet: the first to register")
        founder = make_home("founder", server.url)
        first = await register(founder, "founder")  # no code: the first account may
        assert first.code == 0, first.stderr
        assert "you are this server's admin" in first.stderr
        assert "roost admin invite" in first.stderr
        assert "founder (this server's admin) on" in (await founder.ok("whoami")).stdout
        assert json.loads((await founder.ok("whoami", "--json")).stdout)["role"] == "admin"

        stranger = make_home("stranger", server.url)
        refused = one_line_error(await register(stranger, "stranger"))
        assert refused == NEEDS_INVITE + " [forbidden]\n", refused

        code = (await founder.ok("admin", "invite")).stdout.strip()
        joined = await register(stranger, "stranger", "--invite", code)
        assert joined.code == 0, joined.stderr
        assert "registered stranger" in joined.stderr and "admin" not in joined.stderr
        assert json.loads((await stranger.ok("whoami", "--json")).stdout)["role"] == "member"
        line = await server.logged("registered addr=", "user=stranger", "invite=")
        assert code.split("-")[0] in line and code not in line  # the id, never the code
        invite_line = await server.logged("roost.admin", "founder created invite")
        assert "127.0.0.1" in invite_line and code not in invite_line
    finally:
        await server.terminate()


async def test_an_invite_works_its_number_of_uses_then_says_it_is_used_up(
    invite_only: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    admin = make_home("admin", invite_only.url)
    await admin.register("admin")
    made = json.loads((await admin.ok("admin", "invite", "--uses", "2", "--json")).stdout)
    code, invite_id = made["code"], made["invite"]["id"]
    assert code.startswith(invite_id + "-") and made["invite"]["uses_left"] == 2

    for name in ("first", "second"):
        result = await register(make_home(name, invite_only.url), name, "--invite", code)
        assert result.code == 0, result.stderr
    third = one_line_error(
        await register(make_home("third", invite_only.url), "third", "--invite", code)
    )
    assert third == "error: that invite code is used up: ask the admin for a new one [forbidden]\n"

    listed = json.loads((await admin.ok("admin", "invites", "--json")).stdout)["invites"]
    assert [(i["id"], i["uses_left"], i["state"]) for i in listed] == [(invite_id, 0, "used up")]
    assert listed[0]["created_by"] == "admin"
    table = (await admin.ok("admin", "invites")).stdout
    assert invite_id in table and "0 of 2" in table and code not in table


async def test_a_wrong_an_expired_and_a_revoked_code_each_say_so(
    invite_only: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    admin = make_home("admin", invite_only.url)
    await admin.register("admin")
    guest = make_home("guest", invite_only.url)

    wrong = one_line_error(await register(guest, "guest", "--invite", "0123abcd-notacode"))
    assert "no such invite code: check it" in wrong

    short = (await admin.ok("admin", "invite", "--expires", "2s")).stdout.strip()
    await asyncio.sleep(2.2 * SECOND)
    expired = one_line_error(await register(guest, "guest", "--invite", short))
    assert "that invite code has expired" in expired

    revoked_code = (await admin.ok("admin", "invite", "--expires", "never")).stdout.strip()
    invite_id = revoked_code.split("-")[0]
    result = await admin.ok("admin", "invite", "revoke", invite_id)  # its id is enough
    assert f"revoked invite {invite_id}" in result.stderr
    revoked = one_line_error(await register(guest, "guest", "--invite", revoked_code))
    assert "that invite code was revoked" in revoked

    by_code = (await admin.ok("admin", "invite")).stdout.strip()
    await admin.ok("admin", "invite", "revoke", by_code)  # or the whole code
    states = {
        i["id"]: (i["state"], i["expires_at"])
        for i in json.loads((await admin.ok("admin", "invites", "--json")).stdout)["invites"]
    }
    assert states[invite_id] == ("revoked", None)
    assert states[by_code.split("-")[0]][0] == "revoked"
    assert states[short.split("-")[0]][0] == "expired"
    unknown = one_line_error(await admin.run("admin", "invite", "revoke", "ffffffff"))
    assert "no such invite" in unknown
    # nobody got in with any of them
    assert [u["username"] for u in await users(admin)] == ["admin"]


async def test_bad_invite_options_are_usage_errors(
    invite_only: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    admin = make_home("admin", invite_only.url)
    await admin.register("admin")
    for args, expected in (
        (("--uses", "0"), "--uses"),
        (("--expires", "soon"), "write e.g. 30s, 10m, 24h, 7d"),
        (("--expires", "400d"), "between 1s and 366d, or never"),
    ):
        result = await admin.run("admin", "invite", *args)
        assert result.code == 2 and expected in result.stderr, (args, result)


async def test_a_closed_server_takes_only_its_first_account(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    server = await start_server(tmp_path / "server", registration="closed")
    live = LiveServer(server)
    try:
        first = await register(make_home("first", live.url), "first")
        assert first.code == 0 and "you are this server's admin" in first.stderr
        later = make_home("later", live.url)
        refused = one_line_error(await register(later, "later"))
        assert refused == "error: this server is not taking new accounts [forbidden]\n"
        taken = one_line_error(await register(later, "first"))  # the mode first, not the name
        assert taken == refused
        code = (await make_home("first", live.url).ok("admin", "invite")).stdout.strip()
        with_code = one_line_error(await register(later, "later", "--invite", code))
        assert "not taking new accounts" in with_code  # closed means closed
    finally:
        await server.stop()


async def test_an_open_server_takes_anyone(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    server = await start_server(tmp_path / "server", registration="open")
    live = LiveServer(server)
    try:
        for name in ("first", "second", "third"):
            assert (await register(make_home(name, live.url), name)).code == 0
        roles = {u["username"]: u["role"] for u in await users(make_home("first", live.url))}
        assert roles == {"first": "admin", "second": "member", "third": "member"}
    finally:
        await server.stop()


async def test_serve_refuses_an_unknown_registration_mode(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    result = await make_home("op", "ws://127.0.0.1:1").run(
        "serve", "--registration", "maybe", "--port", "0", "--data", str(tmp_path / "d")
    )
    assert result.code == 2 and "must be one of invite, open, closed" in result.stderr


async def users(admin: Home) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads(
        (await admin.ok("admin", "users", "--json")).stdout
    )["users"]
    return listed
