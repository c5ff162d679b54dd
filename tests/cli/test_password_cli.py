"""roost password (change, --reset), roost admin reset-password and roost admin delete, through
the real CLI and a server subprocess. alice registered first: she is the server's admin."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.helpers import PASSWORD, Home

NEW = "a brand new password"


async def test_password_change_through_the_cli(
    alice_and_bob_cli: tuple[Home, Home], make_home: Callable[[str, str], Home]
) -> None:
    alice, _ = alice_and_bob_cli
    phone = make_home("alice-phone", alice.server_url)
    await phone.login("alice", device="phone")

    wrong = await alice.run("password", "--password-stdin", stdin=f"not it\n{NEW}\n")
    assert wrong.code == 1 and "wrong password" in wrong.stderr, wrong
    assert wrong.stderr.count("\n") == 1  # one line, no traceback
    half = await alice.run("password", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert half.code == 1 and "no new password on stdin" in half.stderr, half

    changed = await alice.ok("password", "--password-stdin", stdin=f"{PASSWORD}\n{NEW}\n")
    assert "password changed" in changed.stderr
    await phone.ok("devices")  # the other device stays logged in
    refused = await make_home("old", alice.server_url).run(
        "login", "alice", "--password-stdin", stdin=f"{PASSWORD}\n"
    )
    assert refused.code == 1 and "wrong username or password" in refused.stderr
    await make_home("new", alice.server_url).login("alice", password=NEW, device="tablet")

    out = await alice.ok(
        "password", "--password-stdin", "--log-out-others", stdin=f"{NEW}\n{PASSWORD}\n"
    )
    assert "2 other devices logged out" in out.stderr, out.stderr
    gone = await phone.run("devices")
    assert gone.code == 1, gone
    await alice.ok("devices")


async def test_reset_password_through_the_cli(
    alice_and_bob_cli: tuple[Home, Home], make_home: Callable[[str, str], Home]
) -> None:
    alice, bob = alice_and_bob_cli
    refused = await bob.run("admin", "reset-password", "alice")
    assert refused.code == 1 and "only an admin" in refused.stderr, refused

    issued = await alice.ok("admin", "reset-password", "bob")
    code = issued.stdout.strip()
    assert len(code) == 29 and "roost password --reset" in issued.stderr, issued
    as_json = json.loads((await alice.ok("admin", "reset-password", "bob", "--json")).stdout)
    assert as_json["username"] == "bob" and as_json["expires_at"]
    replaced = await make_home("x", alice.server_url).run(
        "password", "--reset", code, "--password-stdin", stdin=f"{NEW}\n"
    )
    assert replaced.code == 1 and "no such reset code" in replaced.stderr, replaced

    laptop = make_home("bob-laptop", alice.server_url)
    done = await laptop.ok(
        "password", "--reset", as_json["code"], "--password-stdin", stdin=f"{NEW}\n"
    )
    assert "roost login bob" in done.stderr and "1 device logged out" in done.stderr, done
    assert (await bob.run("devices")).code == 1  # his old device is out
    await laptop.login("bob", password=NEW)
    again = await make_home("y", alice.server_url).run(
        "password", "--reset", as_json["code"], "--password-stdin", stdin=f"{PASSWORD}\n"
    )
    assert again.code == 1 and "no such reset code" in again.stderr


async def test_admin_delete_through_the_cli(
    alice_and_bob_cli: tuple[Home, Home], make_home: Callable[[str, str], Home]
) -> None:
    alice, bob = alice_and_bob_cli
    await bob.ok("post", "bob was here")
    await alice.ok("follow", "bob")
    not_admin = await bob.run("admin", "delete", "alice", "--yes")
    assert not_admin.code == 1 and "only an admin" in not_admin.stderr
    unasked = await alice.run("admin", "delete", "bob")  # stdin is no terminal: no prompt
    assert unasked.code == 1 and "--yes" in unasked.stderr
    assert (await bob.run("devices")).code == 0  # nothing happened

    done = json.loads((await alice.ok("admin", "delete", "bob", "--yes", "--json")).stdout)
    assert done["username"] == "bob" and done["posts"] == 1 and done["devices_logged_out"] == 1
    assert (await bob.run("devices")).code == 1
    following = json.loads((await alice.ok("following", "--json")).stdout)
    assert following == {"users": []}, following
    taken = await make_home("bob-again", alice.server_url).run(
        "register", "bob", "--password-stdin", stdin=f"{PASSWORD}\n"
    )
    assert taken.code == 1 and "taken" in taken.stderr
    self_delete = await alice.run("admin", "delete", "alice", "--yes")
    assert self_delete.code == 1 and "another admin" in self_delete.stderr
