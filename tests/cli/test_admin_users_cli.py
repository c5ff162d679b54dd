"""`roost admin users / disable / enable / promote / demote` and the invite commands through
the real CLI: an admin runs them; a member gets one line for each; a disabled account's own
commands say it is disabled."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import LiveServer
from tests.helpers import Home

SERVER_COMMANDS = [
    ("admin", "users"),
    ("admin", "users", "--json"),
    ("admin", "invites"),
    ("admin", "invite"),
    ("admin", "invite", "--uses", "3", "--json"),
    ("admin", "invite", "revoke", "abcdef12"),
    ("admin", "disable", "alice"),
    ("admin", "enable", "alice"),
    ("admin", "promote", "bob"),
    ("admin", "demote", "alice"),
]


async def test_a_member_gets_one_line_for_every_admin_command(
    live: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    alice, bob = make_home("alice", live.url), make_home("bob", live.url)
    await alice.register("alice")
    await bob.register("bob")
    for command in SERVER_COMMANDS:
        result = await bob.run(*command)
        assert result.code == 1, (command, result)
        assert result.stdout == "", (command, result.stdout)
        assert result.stderr == "error: only an admin of this server may do that [forbidden]\n"
    listing = json.loads((await alice.ok(*SERVER_COMMANDS[1])).stdout)["users"]
    roles = {u["username"]: u for u in listing}
    assert roles["alice"]["role"] == "admin" and roles["alice"]["disabled_at"] is None
    assert roles["bob"]["role"] == "member"


async def test_an_admin_disables_enables_promotes_and_demotes(
    live: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    alice, bob = make_home("alice", live.url), make_home("bob", live.url)
    await alice.register("alice")
    await bob.register("bob")
    await bob.ok("post", "hello from bob")

    table = (await alice.ok("admin", "users")).stdout
    for heading in ("username", "role", "created", "last seen", "devices", "storage"):
        assert heading in table
    assert "alice" in table and "admin" in table and "member" in table

    result = await alice.ok("admin", "disable", "bob")
    assert "disabled bob" in result.stderr
    refused = await bob.run("timeline")
    assert refused.code == 1
    assert refused.stderr == "error: this account is disabled: ask the server's admin\n"
    queued = await bob.run("post", "while disabled")
    assert queued.code == 1 and "this account is disabled" in queued.stderr  # not queued
    assert "queued" not in queued.stderr
    other = make_home("bob-phone", live.url)
    login = await other.run("login", "bob", "--password-stdin", stdin="correct horse battery\n")
    assert login.stderr == "error: this account is disabled: ask the server's admin [forbidden]\n"
    listed = json.loads((await alice.ok("admin", "users", "--json")).stdout)["users"]
    assert [u["disabled_at"] is not None for u in listed] == [False, True]

    await alice.ok("admin", "enable", "bob")
    assert "hello from bob" in (await bob.ok("timeline")).stdout
    assert (await bob.ok("outbox", "--json")).stdout.strip() == '{"entries":[]}'

    promoted = await alice.ok("admin", "promote", "bob")
    assert "bob is now an admin" in promoted.stderr
    assert (await bob.ok("admin", "users")).code == 0
    await bob.ok("admin", "demote", "alice")
    last = await bob.run("admin", "demote", "bob")
    assert last.code == 1 and "the server must keep an admin" in last.stderr
    assert last.stderr.count("\n") == 1
    denied = await alice.run("admin", "users")
    assert denied.stderr == "error: only an admin of this server may do that [forbidden]\n"


async def test_admin_help_tells_the_two_kinds_of_commands_apart(
    live: LiveServer, make_home: Callable[[str, str], Home]
) -> None:
    text = (await make_home("op", live.url).ok("admin", "--help")).stdout
    panels = {
        block.split("─", 1)[0].strip(): block for block in text.split("╭─ ")[1:]
    }  # panel title -> its lines
    machine = panels["On the server machine (its data folder; no login needed)"]
    through = panels["Through the server (as the admin account logged in here)"]

    def commands(panel: str) -> set[str]:
        return {line.split()[1] for line in panel.splitlines() if line.startswith("│ ")}

    assert {"backup", "restore", "gc"} <= commands(machine)
    remote = {"invite", "invites", "users", "disable", "enable", "promote", "demote"}
    assert remote <= commands(through)
    assert not remote & commands(machine)
