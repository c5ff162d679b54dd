"""Upgrades from the first released schema: a server database and a client database built at
version 1 and filled as Roost 1 would have, then opened by the current code: every migration
applies, and the old rows are usable through the real server and client."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import msgspec
from argon2 import PasswordHasher

from client.core import RoostClient
from client.home import Account, ClientHome
from client.sync.engine import SyncEngine
from protocol import accounts, chat, social
from protocol.profiles import GetProfile, SetProfile
from storage.client import schema as client_schema
from storage.database import Migration, now_ms
from storage.server import schema as server_schema
from storage.server.credentials import secret_hash
from storage.sqlite import SqliteDatabase
from tests.conftest import LiveServer, start_server
from tests.helpers import PASSWORD, SECOND, roost_command

OLD_TOKEN = "token-of-a-device-logged-in-before-the-upgrade"
BIO = "here since version one"
NOW = 1_767_225_600_000  # 2026-01-01 in ms
NEWEST_SERVER = max(m.version for m in server_schema.MIGRATIONS)
NEWEST_CLIENT = max(m.version for m in client_schema.MIGRATIONS)


async def open_at_version_1(path: Path, migrations: Sequence[Migration]) -> SqliteDatabase:
    return await SqliteDatabase(path, [m for m in migrations if m.version == 1]).open()


async def versions(db: SqliteDatabase) -> list[int]:
    async with db.reader.execute("SELECT version FROM schema_version ORDER BY version") as cur:
        return [row[0] for row in await cur.fetchall()]


async def build_server_v1(data_dir: Path) -> None:
    """Two users of Roost 1: alice (a logged-in device, a bio, and an acked profile.set whose
    idempotency key her client may still replay) and bob."""
    db = await open_at_version_1(data_dir / "roost.db", server_schema.MIGRATIONS)
    hashed = PasswordHasher().hash(PASSWORD)
    acked = msgspec.json.encode(
        {"username": "alice", "display_name": "Alice", "bio": BIO,
         "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    )  # fmt: skip
    async with db.write() as tx:
        for uid, name in ((1001, "alice"), (1002, "bob")):
            await tx.execute(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (uid, name, hashed, NOW),
            )
            await tx.execute(
                "INSERT INTO profiles (user_id, display_name, bio, updated_at) VALUES (?, ?, ?, ?)",
                (uid, name.title(), BIO if name == "alice" else "", NOW),
            )
        await tx.execute(
            "INSERT INTO devices (id, user_id, name, token_hash, created_at, last_seen_at)"
            " VALUES (2001, 1001, 'old laptop', ?, ?, ?)",
            (secret_hash(OLD_TOKEN), NOW, NOW),
        )
        await tx.execute(
            "INSERT INTO idempotency_keys (user_id, client_id, op, result, created_at)"
            " VALUES (1001, 'set-bio-before-upgrade', 'profile.set', ?, ?)",
            (acked, now_ms() - 3_600_000),  # an hour before the upgrade: within a replay's age
        )
    assert await versions(db) == [1]
    await db.close()


async def test_a_version_1_server_database_upgrades_and_serves_its_users(tmp_path: Path) -> None:
    data_dir = tmp_path / "server"
    await build_server_v1(data_dir)
    server = await start_server(data_dir)  # the current code: migrations 2.. apply here
    live = LiveServer(server)
    try:
        assert await versions(server.db) == list(range(1, NEWEST_SERVER + 1))
        old = await live.connect(OLD_TOKEN)  # the device logged in before the upgrade
        me = await old.call("auth.whoami")
        assert (me.username, me.device_name) == ("alice", "old laptop")
        assert me.role == "admin"  # the oldest account administers an upgraded server
        profile = await old.call("profile.get", GetProfile())
        assert (profile.display_name, profile.bio) == ("Alice", BIO)
        replayed = await old.call(  # an outbox entry from before the upgrade: applied once
            "profile.set", SetProfile(bio="a second time", client_id="set-bio-before-upgrade")
        )
        assert replayed.bio == BIO
        assert (await old.call("profile.get", GetProfile())).bio == BIO

        bob = await live.connect((await live.login("bob")).token)  # the old password still works
        assert (await bob.call("auth.whoami")).role == "member"
        await bob.call("follow.add", social.UserRef(username="alice"))
        post = await old.call("post.create", social.CreatePost(text="after the upgrade #roost"))
        home = await bob.call("timeline.home", social.HomeTimeline())
        assert [p.id for p in home.posts] == [post.id]
        alice = await bob.call("user.profile", social.GetUser(username="alice"))
        assert (alice.followers, alice.posts) == (1, 1)  # counters exist for old users
        found = await bob.call("search.query", social.Search(query="version"))
        assert [u.username for u in found.users] == ["alice"]  # old profiles are searchable
        sent = await bob.call("chat.send", chat.SendMessage(to="@alice", text="hi"))
        assert sent.seq >= 1
        [ns] = (await old.call("files.namespaces")).namespaces  # a home made on first use
        assert ns.kind == "home" and ns.owner == "alice"
        await old.close()
        await bob.close()
    finally:
        await server.stop()


async def test_a_version_1_client_database_upgrades_and_replays_its_outbox(
    live: LiveServer, tmp_path: Path
) -> None:
    session: accounts.DeviceSession = await live.register("alice", "laptop")
    home = ClientHome(tmp_path / "home")
    home.save(
        Account(live.url, session.user_id, "alice", session.device_id, "laptop"), session.token
    )
    db = await open_at_version_1(home.database_path, client_schema.MIGRATIONS)
    queued = msgspec.json.encode({"text": "queued by Roost 1", "client_id": "queued-before-v2"})
    cached = msgspec.json.encode(
        {"username": "alice", "display_name": "", "bio": "cached",
         "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    )  # fmt: skip
    async with db.write() as tx:
        await tx.execute(
            "INSERT INTO outbox (client_id, op, args, created_at) VALUES (?, 'post.create', ?, ?)",
            ("queued-before-v2", queued, NOW),
        )
        await tx.execute(
            "INSERT INTO cache (kind, key, value, updated_at)"
            " VALUES ('profile.get', 'alice', ?, ?)",
            (cached, NOW),
        )
    await db.close()

    async with RoostClient(home, open_timeout=2.0) as client:
        assert await versions(client.database) == list(range(1, NEWEST_CLIENT + 1))
        assert (await client.cache.get("profile.get", "alice")) is not None
        await client.connect()  # replays the old outbox entry
        assert client.last_replay is not None and len(client.last_replay.sent) == 1
        page = await client.call("timeline.user", social.UserTimeline(username="alice"))
        assert [p.text for p in page.posts] == ["queued by Roost 1"]
        again = await client.write(
            "post.create", social.CreatePost(text="x", client_id="queued-before-v2")
        )
        assert again.result is not None and again.result.id == page.posts[0].id  # once only
        root = tmp_path / "workspace"  # the tables later versions added are usable too
        (root / "a.txt").parent.mkdir(parents=True)
        (root / "a.txt").write_text("synced after the upgrade")
        report = await SyncEngine(client, root).run_once()
        assert report.uploaded == ["a.txt"]


async def test_a_database_from_a_newer_roost_is_refused_in_one_line(tmp_path: Path) -> None:
    """Downgrading is refused, for the server and for a client home, before anything changes."""
    future = Migration(99, "from a later Roost", "CREATE TABLE later (x INTEGER)")
    data_dir, home = tmp_path / "server", tmp_path / "home"
    for path, schema in (
        (data_dir / "roost.db", server_schema),
        (home / "client.db", client_schema),
    ):
        db = await SqliteDatabase(path, [*schema.MIGRATIONS, future]).open()
        await db.close()
    for args, env in (
        (["serve", "--port", "0", "--data", str(data_dir)], {}),
        (["outbox"], {"ROOST_HOME": str(home)}),
    ):
        proc = await asyncio.create_subprocess_exec(
            *roost_command(), *args, env={**os.environ, **env},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        async with asyncio.timeout(30 * SECOND):
            _, err = await proc.communicate()
        assert proc.returncode == 1
        lines = err.decode().strip().splitlines()
        assert len(lines) == 1 and "newer than this Roost" in lines[0], lines
