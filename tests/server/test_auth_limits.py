"""Failed-login and registration limits: the rules with a fake clock, then a real server
attacked from one loopback address while its users log in from others."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from client.connection import Connection
from client.errors import ServerError
from protocol import accounts
from protocol.errors import ErrorCode, RoostError
from server.accounts import failed_attempts as auth_limits
from server.accounts.failed_attempts import AuthLimits, FailureRule, rules_for
from tests.helpers import PASSWORD, SECOND, ServerProcess

ATTACKER = "127.0.0.2"
OWNER_ELSEWHERE = "127.0.0.3"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refusal(check: Any, *args: str) -> RoostError | None:
    try:
        check(*args)
    except RoostError as exc:
        assert exc.code == ErrorCode.RATE_LIMITED
        return exc
    return None


# ---------------------------------------------------------------------------- the rules
def test_an_address_guessing_one_account_waits_longer_after_each_failure() -> None:
    clock = Clock()
    limits = AuthLimits(login_failures=5, clock=clock)
    for _ in range(5):  # the free ones
        assert refusal(limits.check_login, "10.0.0.1", "alice") is None
        limits.login_failed("10.0.0.1", "alice")
    waits = []
    for _ in range(6):
        refused = refusal(limits.check_login, "10.0.0.1", "alice")
        assert refused is not None and refused.retry_after is not None
        assert "for alice from your address" in refused.message
        waits.append(refused.retry_after)
        clock.now += refused.retry_after  # waits it out, then fails again
        assert refusal(limits.check_login, "10.0.0.1", "alice") is None
        limits.login_failed("10.0.0.1", "alice")
    assert waits == [1, 2, 4, 8, 16, 32]
    # Another address, and the owner from it, are not held up by this one.
    assert refusal(limits.check_login, "10.0.0.2", "alice") is None


def test_refused_attempts_do_not_extend_the_wait() -> None:
    clock = Clock()
    limits = AuthLimits(login_failures=1, clock=clock)
    limits.login_failed("10.0.0.1", "alice")
    for _ in range(50):
        refused = refusal(limits.check_login, "10.0.0.1", "alice")
        assert refused is not None
        clock.now += 0.01
    clock.now += 1
    assert refusal(limits.check_login, "10.0.0.1", "alice") is None


def test_one_address_trying_many_accounts_is_slowed_too() -> None:
    clock = Clock()
    limits = AuthLimits(login_failures=5, clock=clock)
    for i in range(20):  # one failure on each of 20 accounts: each pair is far from its limit
        limits.login_failed("10.0.0.1", f"user{i}")
    refused = refusal(limits.check_login, "10.0.0.1", "someone_new")
    assert refused is not None and "from your address" in refused.message
    assert refusal(limits.check_login, "10.0.0.2", "someone_new") is None


def test_guesses_from_many_addresses_slow_the_account_but_never_for_long() -> None:
    clock = Clock()
    limits = AuthLimits(login_failures=5, clock=clock)
    limits.login_succeeded("10.9.9.9", "alice")  # where alice logged in before
    for i in range(200):  # a botnet: one guess per address
        address = f"10.1.{i // 250}.{i % 250}"
        if refusal(limits.check_login, address, "alice") is None:
            limits.login_failed(address, "alice")
        clock.now += 0.01
    refused = refusal(limits.check_login, "10.2.0.1", "alice")
    assert refused is not None and refused.message.startswith("too many failed logins for alice")
    assert refused.retry_after is not None and refused.retry_after <= 30
    # alice, from where she logged in before, is not held up at all
    assert refusal(limits.check_login, "10.9.9.9", "alice") is None
    # and from anywhere else, within the ceiling
    clock.now += 30
    assert refusal(limits.check_login, "10.2.0.1", "alice") is None


def test_a_success_clears_the_pair_and_the_account_not_the_address() -> None:
    clock = Clock()
    limits = AuthLimits(login_failures=2, clock=clock)
    for i in range(8):
        limits.login_failed("10.0.0.1", f"user{i % 2}")
    assert refusal(limits.check_login, "10.0.0.1", "user0") is not None
    limits.login_succeeded("10.0.0.1", "user0")  # e.g. the attacker's own account
    assert limits._by_pair.wait(("10.0.0.1", "user0")) == 0
    assert limits._by_account.wait("user0") == 0
    refused = refusal(limits.check_login, "10.0.0.1", "user2")
    assert refused is not None and refused.message.startswith("too many failed logins from")


def test_records_are_forgotten_an_hour_after_the_last_failure() -> None:
    clock = Clock()
    limits = AuthLimits(login_failures=1, clock=clock)
    for _ in range(12):
        limits.login_failed("10.0.0.1", "alice")
    assert refusal(limits.check_login, "10.0.0.1", "alice") is not None
    clock.now += auth_limits.FORGET_AFTER + 1
    assert refusal(limits.check_login, "10.0.0.1", "alice") is None
    limits.sweep()
    assert all(len(c) == 0 for c in (limits._by_pair, limits._by_address, limits._by_account))


def test_the_maps_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_limits, "MAX_RECORDS", 100)
    limits = AuthLimits(clock=Clock())
    for i in range(1000):
        limits.login_failed(f"10.0.{i // 250}.{i % 250}", f"user{i}")
    assert len(limits._by_pair) == len(limits._by_address) == len(limits._by_account) == 100


def test_registrations_per_address_per_hour() -> None:
    clock = Clock()
    limits = AuthLimits(registrations_per_hour=3, clock=clock)
    for _ in range(3):
        limits.start_registration("10.0.0.1")
        clock.now += 60
    refused = refusal(limits.start_registration, "10.0.0.1")
    assert refused is not None and "at most 3 an hour" in refused.message
    assert refused.retry_after == 3600 - 180  # when the first of the three is an hour old
    assert refusal(limits.start_registration, "10.0.0.2") is None
    clock.now += refused.retry_after
    assert refusal(limits.start_registration, "10.0.0.1") is None


def test_a_refused_registration_does_not_count() -> None:
    limits = AuthLimits(registrations_per_hour=1, clock=Clock())
    limits.start_registration("10.0.0.1")
    limits.registration_refused("10.0.0.1")  # e.g. the name was taken meanwhile
    assert refusal(limits.start_registration, "10.0.0.1") is None
    assert AuthLimits(registrations_per_hour=0).start_registration("10.0.0.1") is None


@given(st.integers(1, 20), st.lists(st.floats(0, 4000), max_size=60))
@example(free=1, gaps=[0.0, 0.99999])  # a wait of 10 µs: still told as one, never as 0
def test_no_wait_is_ever_longer_than_its_rules_ceiling(free: int, gaps: list[float]) -> None:
    clock = Clock()
    limits = AuthLimits(login_failures=free, clock=clock)
    ceiling = max(rule.max_delay for rule in rules_for(free))
    for gap in gaps:
        clock.now += gap
        refused = refusal(limits.check_login, "10.0.0.1", "alice")
        if refused is None:
            limits.login_failed("10.0.0.1", "alice")
        else:
            assert refused.retry_after is not None and 0 < refused.retry_after <= ceiling


def test_the_delay_doubles_up_to_its_ceiling() -> None:
    rule = FailureRule(free=3, max_delay=10)
    assert [rule.delay(n) for n in range(8)] == [0, 0, 0, 1, 2, 4, 8, 10]


# ------------------------------------------------------------------------- a real server
async def call_from(
    url: str, source: str, op: str, args: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """One request on a connection of its own from loopback address `source`."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with connect(url, local_addr=(source, 0), additional_headers=headers) as ws:
        await ws.send(json.dumps({"id": 1, "op": op, "args": args}))
        reply: dict[str, Any] = json.loads(await ws.recv())
        return reply


def credentials(username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"username": username, "password": password}


async def register(url: str, username: str) -> accounts.DeviceSession:
    conn = Connection(url)  # the real client core, from 127.0.0.1
    await conn.open()
    try:
        session: accounts.DeviceSession = await conn.call(
            "auth.register", accounts.Credentials(username=username, password=PASSWORD)
        )
        return session
    finally:
        await conn.close()


async def login(url: str, username: str, password: str = PASSWORD) -> accounts.DeviceSession:
    conn = Connection(url)
    await conn.open()
    try:
        session: accounts.DeviceSession = await conn.call(
            "auth.login", accounts.Credentials(username=username, password=password)
        )
        return session
    finally:
        await conn.close()


async def test_guessing_is_refused_with_growing_delays_and_the_owner_still_gets_in(
    tmp_path: Path,
) -> None:
    server = await ServerProcess(tmp_path / "data").start()  # the default limits
    try:
        await register(server.url, "alice")
        for _ in range(5):
            reply = await call_from(
                server.url, ATTACKER, "auth.login", credentials("alice", "not the password")
            )
            assert reply["error"]["code"] == "invalid_credentials"
        waits = []
        for _ in range(2):
            reply = await call_from(
                server.url, ATTACKER, "auth.login", credentials("alice", "not the password")
            )
            assert reply["error"]["code"] == "rate_limited", reply
            assert "too many failed logins for alice" in reply["error"]["message"]
            waits.append(reply["error"]["retry_after"])
            await asyncio.sleep(reply["error"]["retry_after"])
            reply = await call_from(
                server.url, ATTACKER, "auth.login", credentials("alice", "not the password")
            )
            assert reply["error"]["code"] == "invalid_credentials"  # checked, once the wait is over
        assert 0 < waits[0] < waits[1] <= 2.0

        # The owner, from another address and from their own, is not held up.
        started = time.monotonic()
        reply = await call_from(server.url, OWNER_ELSEWHERE, "auth.login", credentials("alice"))
        assert reply["ok"] is True
        assert (await login(server.url, "alice")).username == "alice"
        assert time.monotonic() - started < 5 * SECOND

        # Every failed login is in the log with the username and the address it came from.
        await server.logged("login ok addr=127.0.0.1 user=alice")  # the last line logged
        failed = [line for line in server.log if "roost.auth: login failed" in line]
        assert len(failed) == 7
        assert all(f"login failed addr={ATTACKER} user=alice " in line for line in failed)
        limited = [line for line in server.log if "roost.auth: login rate-limited" in line]
        assert limited and all(f"addr={ATTACKER} user=alice" in line for line in limited)
    finally:
        await server.kill()


async def test_guesses_from_many_addresses_cannot_lock_the_owner_out(tmp_path: Path) -> None:
    """Tight limits (1 free failure per address and account: 10 per account) and guesses from
    many addresses, each waiting out its delays: the account is slowed for addresses new to
    it, for at most 30 s, and not at all where its owner logged in before."""
    server = await ServerProcess(tmp_path / "data", extra_args=("--login-failures", "1")).start()
    try:
        await register(server.url, "alice")  # from 127.0.0.1
        checked = 0
        for i in range(40):  # 10 free guesses, then 1 s and 2 s waits: the next one is 4 s away
            reply = await call_from(
                server.url,
                f"127.0.1.{i + 1}",
                "auth.login",
                credentials("alice", "not the password"),
            )
            if reply["error"]["code"] == "rate_limited":
                await asyncio.sleep(reply["error"]["retry_after"])
                continue
            assert reply["error"]["code"] == "invalid_credentials"
            checked += 1
            if checked == 12:
                break
        assert checked == 12
        reply = await call_from(server.url, OWNER_ELSEWHERE, "auth.login", credentials("alice"))
        assert reply["error"]["code"] == "rate_limited", reply
        assert reply["error"]["message"].startswith("too many failed logins for alice:")
        assert 0 < reply["error"]["retry_after"] <= 30
        # From where she registered, alice logs in at once.
        assert (await login(server.url, "alice")).username == "alice"
        # From the new address too, once the wait is over: the wait stays bounded.
        await asyncio.sleep(reply["error"]["retry_after"])
        reply = await call_from(server.url, OWNER_ELSEWHERE, "auth.login", credentials("alice"))
        assert reply["ok"] is True, reply
    finally:
        await server.kill()


async def test_a_login_flood_from_one_address_does_not_delay_another_addresss_login(
    tmp_path: Path,
) -> None:
    """80 connections from one address log in to their own account over and over (right
    passwords: no failure limit applies), keeping argon2's slots busy; a login from another
    address still takes about one hash, not a turn behind all 80."""
    server = await ServerProcess(tmp_path / "data").start()
    try:
        await register(server.url, "alice")
        mallory = await call_from(server.url, ATTACKER, "auth.register", credentials("mallory"))
        token = mallory["result"]["token"]
        sockets = [
            await connect(
                server.url,
                local_addr=(ATTACKER, 0),
                additional_headers={"Authorization": f"Bearer {token}"},
            )
            for _ in range(80)
        ]
        request = json.dumps({"id": 1, "op": "auth.login", "args": credentials("mallory")})

        async def flood(ws: Any) -> None:
            while True:
                await ws.send(request)
                await ws.recv()

        flooding = [asyncio.create_task(flood(ws)) for ws in sockets]
        await asyncio.sleep(1.0)  # every flood connection has a login waiting now
        started = time.monotonic()
        reply = await call_from(server.url, OWNER_ELSEWHERE, "auth.login", credentials("alice"))
        took = time.monotonic() - started
        assert reply["ok"] is True, reply
        assert took < 3 * SECOND, f"a login took {took:.1f} s behind another address's flood"
        for task in flooding:
            task.cancel()
        for ws in sockets:
            ws.transport.abort()
    finally:
        await server.kill()


async def test_a_registration_flood_is_refused_past_the_limit(tmp_path: Path) -> None:
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--registrations-per-hour", "3")
    ).start()
    try:
        for i in range(3):
            await register(server.url, f"spam{i}")
        with pytest.raises(ServerError) as refused:
            await register(server.url, "spam3")
        assert refused.value.code == ErrorCode.RATE_LIMITED
        assert "too many accounts registered from your address (at most 3 an hour)" in str(
            refused.value
        )
        # A taken name costs nothing, and another address registers as before.
        reply = await call_from(server.url, ATTACKER, "auth.register", credentials("spam0"))
        assert reply["error"]["code"] == "username_taken"
        reply = await call_from(server.url, ATTACKER, "auth.register", credentials("newcomer"))
        assert reply["ok"] is True
        await server.logged("registered addr=127.0.0.2 user=newcomer")
        await server.logged("registration rate-limited addr=127.0.0.1 user=spam3")
    finally:
        await server.kill()
