"""The real `roost` command against a real server: accounts, devices, errors and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import LiveServer
from tests.helpers import Home


async def test_register_login_whoami_devices_logout(
    live: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    laptop = make_home("alice-laptop", live.url)
    phone = make_home("alice-phone", live.url)

    result = await laptop.register("alice")
    assert "registered alice" in result.stderr
    await phone.login("alice", device="phone")

    me = json.loads((await phone.ok("whoami", "--json")).stdout)
    assert me["username"] == "alice" and me["device_name"] == "phone" and me["server"] == live.url

    devices = json.loads((await laptop.ok("devices", "--json")).stdout)["devices"]
    assert [d["name"] for d in devices] == [devices[0]["name"], "phone"]
    assert [d["current"] for d in devices] == [True, False]
    table = (await laptop.ok("devices")).stdout
    assert "phone" in table and "this device" in table

    await laptop.ok("devices", "revoke", devices[1]["id"])
    refused = await phone.run("whoami")
    assert refused.code == 1
    assert refused.stderr.startswith("error: the server refused this device")
    assert "Traceback" not in refused.stderr

    result = await laptop.ok("logout")
    assert "logged out" in result.stderr
    assert (
        await laptop.run("whoami")
    ).stderr == "error: not logged in; run roost register USER or roost login USER\n"


async def test_errors_are_one_line_with_exit_code_1(
    live: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    bob = make_home("bob", live.url)
    await bob.register("bob")
    other = make_home("other", live.url)

    cases = [
        (
            other.run("register", "bob", "--password-stdin", stdin="another password\n"),
            "username 'bob' is taken [username_taken]",
        ),
        (
            other.run("login", "bob", "--password-stdin", stdin="wrong password!\n"),
            "wrong username or password [invalid_credentials]",
        ),
        (
            other.run("register", "bad!name", "--password-stdin", stdin="long enough pw\n"),
            "the user name must be 3-32 letters",
        ),
        (
            other.run("register", "carl", "--password-stdin", stdin="short\n"),
            "password is too short (at least 8 characters)",
        ),
        (bob.run("profile", "show", "nobody"), "no user 'nobody' [not_found]"),
        (bob.run("profile", "set", "--bio", "x" * 501), "bio is too long (at most 500 characters)"),
        (bob.run("profile", "set"), "nothing to change"),
        (bob.run("devices", "revoke", "123"), "no device 123 on your account [not_found]"),
        (
            bob.run("register", "bob2", "--password-stdin", stdin="long enough pw\n"),
            "this home is logged in as bob",
        ),
    ]
    for pending, expected in cases:
        result = await pending
        assert result.code == 1, (expected, result)
        assert expected in result.stderr, (expected, result.stderr)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
        assert result.stdout == ""


async def test_usage_errors_exit_2(live: LiveServer, make_home: Callable[[str, str], Home]) -> None:
    home = make_home("u", live.url)
    assert (await home.run("register")).code == 2
    assert (await home.run("no-such-command")).code == 2


async def test_unreachable_server_on_a_command_that_cannot_queue(
    make_home: Callable[[str, str], Home],
) -> None:
    home = make_home("lonely", "ws://127.0.0.1:9")  # nothing listens on the discard port
    result = await home.run("register", "someone", "--password-stdin", stdin="long enough pw\n")
    assert result.code == 1
    assert result.stderr.startswith("error: cannot reach ws://127.0.0.1:9")
    assert result.stderr.count("\n") == 1


async def test_debug_shows_the_traceback(
    live: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    import asyncio
    import subprocess

    from tests.helpers import roost_command

    home = make_home("dbg", live.url)
    env = home.env() | {"ROOST_DEBUG": "1"}
    proc = await asyncio.create_subprocess_exec(
        *roost_command(), "whoami", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 1 and b"Traceback" in err and b"NotLoggedIn" in err
