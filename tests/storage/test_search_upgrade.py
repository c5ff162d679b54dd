"""An upgraded server finds what was written before search learned word forms: a database
built at the schema version before the search migration, filled as that Roost would have
(posts indexed by the old tokenizer, messages and files with no index at all), then opened by
the current server, which refills every index."""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher

from protocol import social as wire
from storage.server import schema
from storage.server.credentials import secret_hash
from storage.sqlite import SqliteDatabase
from tests.conftest import LiveServer, start_server
from tests.helpers import PASSWORD

TOKEN = "token-of-a-device-from-before-the-upgrade"
NOW = 1_767_225_600_000
SEARCH_VERSION = next(m.version for m in schema.MIGRATIONS if "messages_fts" in m.sql)


async def build_before_search(path: Path) -> None:
    db = await SqliteDatabase(
        path, [m for m in schema.MIGRATIONS if m.version < SEARCH_VERSION]
    ).open()
    hashed = PasswordHasher().hash(PASSWORD)
    async with db.write() as tx:
        for uid, name, bio in ((1, "alice", ""), (2, "bob", "keeps Hives on the roof")):
            await tx.execute(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (uid, name, hashed, NOW),
            )
            await tx.execute(
                "INSERT INTO profiles (user_id, display_name, bio, updated_at) VALUES (?, ?, ?, ?)",
                (uid, name.title(), bio, NOW),
            )
        await tx.execute(
            "INSERT INTO devices (id, user_id, name, token_hash, created_at)"
            " VALUES (10, 1, 'old laptop', ?, ?)",
            (secret_hash(TOKEN), NOW),
        )
        for pid, text, deleted in ((100, "The Hives swarmed", None), (101, "Hives gone", NOW)):
            await tx.execute(
                "INSERT INTO posts (id, author_id, text, created_at, deleted_at, fanned_out)"
                " VALUES (?, 2, ?, ?, ?, 1)",
                (pid, text, NOW, deleted),
            )
            if deleted is None:  # as the old code indexed a live post
                await tx.execute("INSERT INTO posts_fts (rowid, text) VALUES (?, ?)", (pid, text))
        await tx.execute(
            "INSERT INTO conversations (id, kind, direct_key, created_by, created_at, last_seq)"
            " VALUES (200, 'direct', '1:2', 1, ?, 1)",
            (NOW,),
        )
        await tx.executemany(
            "INSERT INTO conversation_members (conversation_id, user_id, joined_seq)"
            " VALUES (200, ?, 0)",
            [(1,), (2,)],
        )
        await tx.execute(
            "INSERT INTO messages (conversation_id, seq, sender_id, kind, text, sent_at)"
            " VALUES (200, 1, 2, 'text', 'we were running late', ?)",
            (NOW,),
        )
        await tx.execute(
            "INSERT INTO namespaces (id, kind, owner_id, name, seq, created_at)"
            " VALUES (300, 'home', 1, '', 2, ?)",
            (NOW,),
        )
        await tx.execute(
            "INSERT INTO namespace_members (namespace_id, user_id, role) VALUES (300, 1, 'owner')"
        )
        entries = ((400, 1, "notes", "dir"), (401, 2, "notes/Gardening.md", "file"))
        for vid, seq, path, kind in entries:
            await tx.execute(
                "INSERT INTO file_versions (id, namespace_id, path, seq, kind, size, mtime_ms,"
                " deleted, user_id, device_name, created_at)"
                " VALUES (?, 300, ?, ?, ?, 0, ?, 0, 1, 'old laptop', ?)",
                (vid, path, seq, kind, NOW, NOW),
            )
            await tx.execute(
                "INSERT INTO files_current (namespace_id, path, path_key, version_id, seq, deleted)"
                " VALUES (300, ?, ?, ?, ?, 0)",
                (path, path.lower(), vid, seq),
            )
    await db.close()


async def test_an_upgraded_database_finds_old_rows_by_their_words_forms(tmp_path: Path) -> None:
    data_dir = tmp_path / "server"
    await build_before_search(data_dir / "roost.db")
    server = await start_server(data_dir)  # the search migration runs here
    live = LiveServer(server)
    try:
        alice = await live.connect(TOKEN)
        found: wire.SearchResult = await alice.call("search.query", wire.Search("hive"))
        assert [p.text for p in found.posts] == ["The Hives swarmed"]  # not the deleted one
        assert [u.username for u in found.users] == ["bob"]
        run: wire.SearchResult = await alice.call("search.query", wire.Search("run"))
        assert [m.text for m in run.messages] == ["we were running late"]
        assert run.messages[0].conversation_name == "bob"
        garden: wire.SearchResult = await alice.call("search.query", wire.Search("garden"))
        assert [(f.path, f.kind) for f in garden.files] == [("notes/Gardening.md", "file")]
        note: wire.SearchResult = await alice.call("search.query", wire.Search("notes"))
        assert [(f.path, f.kind) for f in note.files] == [("notes", "dir")]
        await alice.close()
    finally:
        await server.stop()
