"""The log an operator acts on: every auth line names the address and the user in one fixed
shape (the fail2ban filter in deploy/ matches failed logins by it), no token or password
is ever written, connections open and close only at debug, and under the journal no line
carries a second timestamp."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server import logs
from tests.helpers import SECOND, Home, ServerProcess, roost_command

SECRET = "a very known password 7f3a"
FILTER = Path(__file__).parents[2] / "deploy" / "fail2ban" / "filter.d" / "roost.conf"
PROXY = "127.0.0.1"


async def a_session_of_logins(server: ServerProcess, make_home: Callable[[str, str], Home]) -> str:
    """Register, log in elsewhere, fail twice, present a made-up token, revoke the other
    device (which then tries its token), log out: the first device's token is returned."""
    laptop, phone = make_home("laptop", server.url), make_home("phone", server.url)
    await laptop.register("alice", SECRET)
    await phone.login("alice", SECRET, device="phone")
    guesser = make_home("guesser", server.url)
    for _ in range(2):
        failed = await guesser.run("login", "alice", "--password-stdin", stdin="wrong guess 1\n")
        assert failed.code == 1 and "wrong username or password" in failed.stderr
    with pytest.raises(InvalidStatus):
        await connect(server.url, additional_headers={"Authorization": "Bearer forged-token-9"})
    devices = json.loads((await laptop.ok("devices", "--json")).stdout)["devices"]
    phone_id = next(d["id"] for d in devices if not d["current"])
    await laptop.ok("devices", "revoke", phone_id)
    refused = await phone.run("whoami")
    assert refused.code == 1 and "the server refused this device" in refused.stderr
    token = (laptop.path / "token").read_text().strip()
    await laptop.ok("logout")
    await server.logged("roost.auth: logout")
    return token


def auth_lines(log: list[str]) -> list[str]:
    return [line.rstrip("\n") for line in log if "roost.auth:" in line]


async def test_auth_lines_name_address_and_user_and_never_a_secret(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    server = await ServerProcess(tmp_path / "data", extra_args=("--log-level", "debug")).start()
    try:
        token = await a_session_of_logins(server, make_home)
    finally:
        await server.terminate()
    lines = auth_lines(server.log)
    shapes = [re.sub(r"^.*? (\w+) roost\.auth: ", r"\1 ", line) for line in lines]
    assert [re.sub(r" (device|code)=\S+", "", s) for s in shapes] == [
        "INFO registered addr=127.0.0.1 user=alice role=admin",
        "INFO login ok addr=127.0.0.1 user=alice",
        "WARNING login failed addr=127.0.0.1 user=alice",
        "WARNING login failed addr=127.0.0.1 user=alice",
        "WARNING token refused addr=127.0.0.1 user=-",
        "INFO device revoked addr=127.0.0.1 user=alice",
        "WARNING token refused addr=127.0.0.1 user=alice",
        "INFO logout addr=127.0.0.1 user=alice",
    ]
    assert "code=invalid_credentials" in lines[2] and "code=invalid_token" in lines[4]
    assert lines[6].endswith("code=revoked_token")
    everything = "".join(server.log)
    assert "op=auth.login" in everything  # debug: every op is logged, and still no secret
    for secret in (SECRET, "wrong guess 1", token, "forged-token-9"):
        assert secret not in everything
    # at debug, a connection's open and close are there, with its address
    assert re.search(r"DEBUG roost\.server: connection open addr=127\.0\.0\.1", everything)
    closed = r"DEBUG roost\.server: connection closed \(1000\) addr=127\.0\.0\.1 user=alice"
    assert re.search(closed, everything)


async def test_at_info_connections_are_quiet_and_the_forwarded_address_is_logged(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    server = await ServerProcess(tmp_path / "data", extra_args=("--trusted-proxy", PROXY)).start()
    try:
        headers = {"X-Forwarded-For": "198.51.100.7"}
        with pytest.raises(InvalidStatus):
            await connect(server.url, additional_headers={**headers, "Authorization": "Bearer x"})
        await make_home("a", server.url).register("alice", SECRET)
        async with connect(server.url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"id": 1, "op": "auth.login", "args": {
                "username": "alice", "password": "not it at all"}}))  # fmt: skip
            assert json.loads(await ws.recv())["error"]["code"] == "invalid_credentials"
        await server.logged("login failed addr=198.51.100.7 user=alice")
        await asyncio.sleep(0.2)  # the close is logged after the reply, if it is
    finally:
        await server.terminate()
    everything = "".join(server.log)
    assert "token refused addr=198.51.100.7 user=-" in everything
    assert "registered addr=127.0.0.1 user=alice" in everything
    for noise in ("connection open", "connection closed", "connection rejected", "DEBUG"):
        assert noise not in everything
    assert SECRET not in everything and "not it at all" not in everything


async def test_the_fail2ban_filter_matches_failed_logins_and_names_the_address(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    """The filter's own regex (fail2ban's <HOST> as an address group), on a real log."""
    server = await ServerProcess(tmp_path / "data", extra_args=("--trusted-proxy", PROXY)).start()
    try:
        await make_home("a", server.url).register("alice", SECRET)
        for forwarded in ("203.0.113.5", "203.0.113.5", "198.51.100.9"):
            async with connect(server.url, additional_headers={"X-Forwarded-For": forwarded}) as ws:
                await ws.send(json.dumps({"id": 1, "op": "auth.login", "args": {
                    "username": "alice", "password": "guessing 12345"}}))  # fmt: skip
                assert json.loads(await ws.recv())["error"]["code"] == "invalid_credentials"
        home = make_home("b", server.url)
        await home.login("alice", SECRET)  # a good login: no match
        await server.logged("login ok addr=127.0.0.1")
        # a stolen token guessing the password, and a guessed reset code, count as failures
        token = (home.path / "token").read_text().strip()
        async with connect(
            server.url,
            additional_headers={
                "X-Forwarded-For": "192.0.2.44",
                "Authorization": f"Bearer {token}",
            },
        ) as ws:
            await ws.send(
                json.dumps(
                    {
                        "id": 1,
                        "op": "auth.change_password",
                        "args": {
                            "old_password": "guessing 12345",
                            "new_password": "a new password",
                        },
                    }
                )
            )
            assert json.loads(await ws.recv())["error"]["code"] == "invalid_credentials"
        async with connect(server.url, additional_headers={"X-Forwarded-For": "192.0.2.45"}) as ws:
            await ws.send(
                json.dumps(
                    {
                        "id": 1,
                        "op": "auth.reset_password",
                        "args": {"code": "ABCD-EFGH-IJKL", "new_password": "a new password"},
                    }
                )
            )
            assert json.loads(await ws.recv())["error"]["code"] == "invalid_credentials"
        await server.logged("reset code wrong addr=192.0.2.45")
    finally:
        await server.terminate()
    failregex = fail2ban_regex(FILTER.read_text())
    hosts = [m["host"] for line in server.log if (m := failregex.search(strip_date(line)))]
    assert hosts == ["203.0.113.5", "203.0.113.5", "198.51.100.9", "192.0.2.44", "192.0.2.45"]


def test_the_filter_cannot_be_fooled_by_what_a_client_writes() -> None:
    failregex = fail2ban_regex(FILTER.read_text())
    # only the address right after the fixed words counts, whatever comes after it
    line = "WARNING roost.auth: login failed addr=203.0.113.5 user=x addr=10.0.0.1"
    match = failregex.search(line)
    assert match is not None and match["host"] == "203.0.113.5"
    for other in (
        "INFO roost.auth: login ok addr=203.0.113.5 user=alice",
        "INFO roost.ops: op addr=203.0.113.5 user=alice op=auth.login code=ok",
        "INFO roost.server: renamed 'login failed addr=1.2.3.4 user=a'",
        "  WARNING roost.auth: login failed addr=1.2.3.4 user=a",  # indented: no line of ours
    ):
        assert failregex.search(other) is None


def fail2ban_regex(conf: str) -> re.Pattern[str]:
    """The filter's failregex, with <HOST> as fail2ban reads it (an address) in a group."""
    rule = re.search(r"^failregex\s*=\s*(.+)$", conf, re.MULTILINE)
    assert rule is not None
    host = r"(?P<host>[0-9a-fA-F.:]+)"
    return re.compile(rule[1].strip().replace("<HOST>", host))


def strip_date(line: str) -> str:
    """As fail2ban does: the timestamp it found is cut from the line before the regex."""
    return re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", "", line.rstrip("\n"))


async def test_under_the_journal_lines_carry_a_priority_and_no_timestamp(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    stat = os.fstat(write_end)
    env = dict(os.environ, JOURNAL_STREAM=f"{stat.st_dev}:{stat.st_ino}")
    proc = subprocess.Popen(
        [*roost_command(), "serve", "--port", "0", "--data", str(tmp_path / "data")],
        stderr=write_end,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as stderr:
            async with asyncio.timeout(15 * SECOND):
                line = await asyncio.to_thread(stderr.readline)
            proc.terminate()
            rest = await asyncio.to_thread(stderr.read)
    finally:
        proc.wait(timeout=20 * SECOND)
    lines = [line, *rest.splitlines()]
    assert lines[0].startswith("<6>INFO roost.server: ")
    assert not any(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", x) for x in lines if x.startswith("<"))


def test_journal_stream_of_another_file_is_not_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open(tmp_path / "log", "w") as stream:
        stat = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino}")
        assert logs.under_journald(stream)
        monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino + 1}")
        assert not logs.under_journald(stream)  # systemd's, inherited by a redirected child
        monkeypatch.setenv("JOURNAL_STREAM", "garbage")
        assert not logs.under_journald(stream)
