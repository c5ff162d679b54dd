"""The search indexes follow their tables: the triggers of the search migration, driven by the
same statements the repositories run, never leave a stale or missing row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.database import Database
from storage.server import search
from storage.server.schema import MIGRATIONS
from storage.server.search import SearchRepository
from storage.sqlite import SqliteDatabase

NOW = 1_767_225_600_000


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await SqliteDatabase(tmp_path / "roost.db", MIGRATIONS).open()
    async with database.write() as tx:
        await tx.execute(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'ann', '', 0)"
        )
    yield database
    await database.close()


async def found(db: Database, table: str, match: str) -> list[int]:
    """Rows of a full-text table matching, once what waits is indexed."""
    await SearchRepository(db).index_waiting_messages()
    await SearchRepository(db).index_waiting_files()
    async with db.reader.execute(
        f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid", (match,)
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def message_seqs(db: Database, word: str) -> list[tuple[int, int]]:
    """What search finds once the messages waiting are indexed."""
    await SearchRepository(db).index_waiting_messages()
    async with db.reader.execute(
        "SELECT conversation_id, seq FROM messages_fts WHERE messages_fts MATCH ?"
        " ORDER BY conversation_id, seq",
        (f'text : "{word}"',),
    ) as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


async def test_text_messages_are_indexed_and_leave_with_their_conversation(db: Database) -> None:
    async with db.write() as tx:
        for cid in (10, 11):
            await tx.execute(
                "INSERT INTO conversations (id, kind, name, created_by, created_at)"
                " VALUES (?, 'group', 'bees', 1, 0)",
                (cid,),
            )
            await tx.executemany(
                "INSERT INTO messages (conversation_id, seq, sender_id, kind, text, sent_at)"
                " VALUES (?, ?, 1, ?, ?, 0)",
                [(cid, 1, "created", "created bees"), (cid, 2, "text", "the bees swarmed")],
            )
    assert await message_seqs(db, "swarm") == [(10, 2), (11, 2)]
    assert await message_seqs(db, "created") == []  # membership entries are not text
    async with db.write() as tx:  # no op edits a message; the index would follow one
        await tx.execute("UPDATE messages SET text = 'calm bees' WHERE conversation_id = 11")
    assert await message_seqs(db, "swarm") == [(10, 2)]
    assert await message_seqs(db, "calm") == [(11, 2)]  # the "created" entry stays out
    async with db.write() as tx:
        await tx.execute("DELETE FROM conversations WHERE id = 10")
    assert await message_seqs(db, "swarm") == []
    assert await message_seqs(db, "calm") == [(11, 2)]
    assert await message_seqs(db, "c11") == []  # the conversation token is not a word
    async with db.write() as tx:
        await tx.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")


async def test_messages_wait_for_the_indexer_in_order_and_in_batches(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "INDEX_BATCH", 3)
    async with db.write() as tx:
        await tx.execute(
            "INSERT INTO conversations (id, kind, name, created_by, created_at)"
            " VALUES (20, 'group', 'g', 1, 0), (21, 'group', 'g', 1, 0)"
        )
        await tx.executemany(
            "INSERT INTO messages (conversation_id, seq, sender_id, kind, text, sent_at)"
            " VALUES (?, ?, 1, 'text', 'queued words', 0)",
            [(20, seq) for seq in range(1, 6)] + [(21, 1), (21, 2)],
        )
        await tx.execute("DELETE FROM conversations WHERE id = 21")  # before it was indexed
    async with db.reader.execute("SELECT COUNT(*) FROM messages_to_index") as cur:
        assert (await cur.fetchone())[0] == 5  # committed, not indexed yet; 21's went with it
    async with db.reader.execute("SELECT COUNT(*) FROM messages_fts") as cur:
        assert (await cur.fetchone())[0] == 0
    assert await SearchRepository(db).index_waiting_messages() == 5  # in batches of 3
    assert len(await found(db, "messages_fts", 'text : "queued"')) == 5
    assert await SearchRepository(db).index_waiting_messages() == 0


async def test_file_names_follow_the_current_version(db: Database) -> None:
    async with db.write() as tx:
        await tx.execute(
            "INSERT INTO namespaces (id, kind, owner_id, name, created_at)"
            " VALUES (5, 'home', 1, '', 0)"
        )

    async def commit(version: int, path: str, deleted: bool = False) -> None:
        async with db.write() as tx:
            await tx.execute(
                "INSERT INTO file_versions (id, namespace_id, path, seq, kind, size, mtime_ms,"
                " deleted, user_id, device_name, created_at)"
                " VALUES (?, 5, ?, ?, 'file', 0, 0, ?, 1, 'd', 0)",
                (version, path, version, int(deleted)),
            )
            await tx.execute(  # as FileRepository.add_versions writes it
                "INSERT INTO files_current (namespace_id, path, path_key, version_id, seq, deleted)"
                " VALUES (5, ?, ?, ?, ?, ?) ON CONFLICT (namespace_id, path) DO UPDATE SET"
                " version_id = excluded.version_id, seq = excluded.seq, deleted = excluded.deleted",
                (path, path.lower(), version, version, int(deleted)),
            )

    await commit(1, "Garden/Bee notes.txt")
    async with db.reader.execute("SELECT COUNT(*) FROM files_to_index") as cur:
        assert (await cur.fetchone())[0] == 1  # committed, waiting to be indexed
    assert await found(db, "files_fts", 'name : "bee"') == [1]
    assert await found(db, "files_fts", 'name : "garden"') == []  # a folder's name, not the file's
    await commit(2, "Garden/Bee notes.txt")
    assert await found(db, "files_fts", 'name : "bee"') == [2]
    await commit(3, "Garden/Bee notes.txt", deleted=True)
    assert await found(db, "files_fts", 'name : "bee"') == []
    await commit(4, "Garden/Bee notes.txt")
    async with db.write() as tx:  # as the paths migration renames
        await tx.execute("UPDATE files_current SET path = 'Garden/Wasp notes.txt' WHERE seq = 4")
    assert await found(db, "files_fts", 'name : "bee"') == []
    assert await found(db, "files_fts", 'name : "wasp"') == [4]
    assert await found(db, "files_fts", 'namespace : "n5"') == [4]
    async with db.write() as tx:  # a namespace removed takes its entries with it
        await tx.execute("DELETE FROM namespaces WHERE id = 5")
    assert await found(db, "files_fts", 'name : "wasp"') == []
    assert await found(db, "files_fts", 'namespace : "n5"') == []
    async with db.write() as tx:
        await tx.execute("INSERT INTO files_fts (files_fts) VALUES ('integrity-check')")


async def test_file_changes_waiting_are_applied_in_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name in and out and in again before the indexer runs, across its batches."""
    monkeypatch.setattr(search, "INDEX_BATCH", 2)
    async with db.write() as tx:
        await tx.execute(
            "INSERT INTO namespaces (id, kind, owner_id, name, created_at)"
            " VALUES (6, 'home', 1, '', 0)"
        )
        for version, deleted in ((11, 0), (12, 1), (13, 0), (14, 0)):
            await tx.execute(
                "INSERT INTO files_current (namespace_id, path, path_key, version_id, seq, deleted)"
                " VALUES (6, 'Swarm.md', 'swarm.md', ?, ?, ?) ON CONFLICT (namespace_id, path)"
                " DO UPDATE SET version_id = excluded.version_id, deleted = excluded.deleted",
                (version, version, deleted),
            )
    # 11 in; 11 out (12 is a deletion); 13 in; 13 out and 14 in
    assert await SearchRepository(db).index_waiting_files() == 5
    assert await found(db, "files_fts", 'name : "swarm"') == [14]
    async with db.write() as tx:
        await tx.execute("INSERT INTO files_fts (files_fts) VALUES ('integrity-check')")
