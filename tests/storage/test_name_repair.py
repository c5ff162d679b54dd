"""The migration that repairs names stored before control characters were refused: a database
built by the schema before it, filled as an older server let it be filled (`alice\\n` beside
`alice`, names with escape sequences), opened by the current server and used through it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from client.errors import AuthRejected
from protocol import chat, social
from protocol.types import Username
from storage.server import schema as server_schema
from storage.server.credentials import secret_hash
from storage.server.name_repair import repair_names, repaired_name, repaired_username
from storage.sqlite import SqliteDatabase
from tests.conftest import LiveServer, start_server
from tests.helpers import PASSWORD
from tests.hostile import unsafe_in

NOW = 1_767_225_600_000
REPAIR = next(m for m in server_schema.MIGRATIONS if m.then is repair_names)
BEFORE = [m for m in server_schema.MIGRATIONS if m.version < REPAIR.version]
ALICE_TOKEN = "alice-logged-in-before-the-upgrade"
SQUATTER_TOKEN = "alice-newline-logged-in-before-the-upgrade"
USERS = {  # id -> username as an older server stored it
    1001: "alice",
    1002: "alice\n",  # registered to pass as alice
    1003: "bob\n",  # nobody else is bob: keeps bob
    1004: "x\n",
    1005: "carol_2",  # a name the repair must not hand out twice
    1006: "carol\n",
    1007: "carol\r\n",
}


# ------------------------------------------------------------------------------ the rules
def test_a_repaired_username_keeps_what_it_can_and_is_unique() -> None:
    taken = {"alice", "alice_2", "carol"}
    assert repaired_username("alice\n", taken.__contains__) == "alice_3"
    assert repaired_username("bob\n", taken.__contains__) == "bob"
    assert repaired_username("x\n", taken.__contains__) == "user_x"
    assert repaired_username("\n", taken.__contains__) == "user"
    long = "a" * 32 + "\n"
    assert repaired_username(long, {"a" * 32}.__contains__) == "a" * 30 + "_2"


@given(st.text(max_size=40), st.sets(st.from_regex(r"[a-z0-9_]{3,8}", fullmatch=True)))
def test_a_repaired_username_is_always_valid_and_free(old: str, taken: set[str]) -> None:
    import msgspec

    new = repaired_username(old, taken.__contains__)
    assert new not in taken
    assert msgspec.json.decode(msgspec.json.encode(new), type=Username) == new


def test_a_repaired_name_loses_its_control_characters() -> None:
    assert repaired_name("laptop\n", "device") == "laptop"
    assert repaired_name("\x1b]0;pwned\x07", "device") == "]0;pwned"
    assert repaired_name("\u202e\x9b", "group") == "group"
    assert repaired_name("fine name", "device") == "fine name"


# ------------------------------------------------------------------------------ the migration
async def build_old_database(data_dir: Path) -> None:
    db = await SqliteDatabase(data_dir / "roost.db", BEFORE).open()
    hashed = PasswordHasher().hash(PASSWORD)
    async with db.write() as tx:
        for uid, name in USERS.items():
            await tx.execute(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (uid, name, hashed, NOW),
            )
            display = "Mallory\x1b]0;pwned\x07\n" if uid == 1002 else name.strip().title()
            await tx.execute(
                "INSERT INTO profiles (user_id, display_name, bio, updated_at) VALUES (?, ?, ?, ?)",
                (uid, display, "a bio\x1b[2J kept as written", NOW),
            )
        for device_id, uid, name, token in (
            (2001, 1001, "laptop\n", ALICE_TOKEN),
            (2002, 1002, "\x1b]0;pwned\x07", SQUATTER_TOKEN),
            (2003, 1001, "\n", "alice-second-device"),
        ):
            await tx.execute(
                "INSERT INTO devices (id, user_id, name, token_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (device_id, uid, name, secret_hash(token), NOW),
            )
        await tx.executemany(
            "INSERT INTO conversations (id, kind, name, created_by, created_at, last_seq)"
            " VALUES (?, 'group', ?, 1002, ?, 0)",
            [(3001, "team\x9b2J\n", NOW), (3002, "\u202e", NOW)],
        )
        for conversation in (3001, 3002):
            for uid in (1001, 1002):
                await tx.execute(
                    "INSERT INTO conversation_members (conversation_id, user_id, joined_seq)"
                    " VALUES (?, ?, 0)",
                    (conversation, uid),
                )
        await tx.execute(
            "INSERT INTO attachments (id, owner_id, name, size, created_at)"
            " VALUES (4001, 1002, 'invoice\u202efdp.exe', 0, ?)",
            (NOW,),
        )
    await db.close()


async def test_old_names_are_repaired_and_the_accounts_still_work(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "server"
    await build_old_database(data_dir)
    with caplog.at_level(logging.WARNING, logger="roost.storage"):
        server = await start_server(data_dir)  # the current code: the repair runs here
    live = LiveServer(server)
    try:
        async with server.db.reader.execute("SELECT id, username FROM users ORDER BY id") as cur:
            names = {row[0]: row[1] for row in await cur.fetchall()}
        assert names == {
            1001: "alice",  # valid names are never touched
            1002: "alice_2",
            1003: "bob",
            1004: "user_x",
            1005: "carol_2",
            1006: "carol",
            1007: "carol_3",
        }
        assert "renamed user 1002 from 'alice\\n' to 'alice_2'" in caplog.text

        # Every change is kept with the old value: nothing is lost.
        async with server.db.reader.execute(
            "SELECT kind, row_id, old, new FROM name_repairs ORDER BY id"
        ) as cur:
            repairs = [tuple(row) for row in await cur.fetchall()]
        assert ("username", 1002, "alice\n", "alice_2") in repairs
        assert ("display_name", 1002, "Mallory\x1b]0;pwned\x07\n", "Mallory]0;pwned") in repairs
        assert ("device_name", 2001, "laptop\n", "laptop") in repairs
        assert ("device_name", 2003, "\n", "device") in repairs
        assert ("group_name", 3001, "team\x9b2J\n", "team2J") in repairs
        assert ("group_name", 3002, "\u202e", "group") in repairs
        assert ("attachment_name", 4001, "invoice\u202efdp.exe", "invoicefdp.exe") in repairs
        assert not any(kind == "username" and row_id == 1001 for kind, row_id, *_ in repairs)

        # A renamed account's devices log in again, under the new name, same password.
        with pytest.raises(AuthRejected):
            await live.connect(SQUATTER_TOKEN)
        again = await live.connect((await live.login("alice_2")).token)
        assert (await again.call("auth.whoami")).username == "alice_2"
        await again.close()

        # alice keeps her name and her device (whose name lost its newline).
        alice = await live.connect(ALICE_TOKEN)
        devices = await alice.call("devices.list")
        assert sorted(d.name for d in devices.devices) == ["device", "laptop"]
        groups = await alice.call("chat.list")
        assert sorted(c.name for c in groups.conversations) == ["group", "team2J"]
        found = await alice.call("search.query", social.Search(query="alice_2"))
        assert [u.username for u in found.users] == ["alice_2"]  # search knows the new name
        squatter = await alice.call("user.profile", social.GetUser(username="alice_2"))
        assert squatter.display_name == "Mallory]0;pwned"
        assert squatter.bio == "a bio\x1b[2J kept as written"  # texts stay as written
        for value in [*names.values(), *(d.name for d in devices.devices)]:
            assert not unsafe_in(value) and "\n" not in value
        sent = await alice.call("chat.send", chat.SendMessage(to="@alice_2", text="who are you?"))
        assert sent.seq == 1
        await alice.close()
    finally:
        await server.stop()


async def test_the_repair_runs_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "server"
    await build_old_database(data_dir)
    for _ in range(2):
        db = await SqliteDatabase(data_dir / "roost.db", server_schema.MIGRATIONS).open()
        async with db.reader.execute("SELECT COUNT(*) FROM name_repairs") as cur:
            count = (await cur.fetchone())[0]
        await db.close()
        assert count == 12
