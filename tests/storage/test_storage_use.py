"""What counts against a user, kept as running totals beside the rows (migration "storage
use"), and what expires: checked on a real database, with the clock given."""

from __future__ import annotations

import hashlib
from pathlib import Path

from storage.server import schema as server_schema
from storage.server.expiry import DAY_MS, HOUR_MS, Ages, expire
from storage.server.files import FileRepository, NewVersion
from storage.server.space import StorageUse, purge_history, storage_use
from storage.sqlite import SqliteDatabase

STORAGE_USE = next(m for m in server_schema.MIGRATIONS if m.description.startswith("storage use"))
BEFORE = [m for m in server_schema.MIGRATIONS if m.version < STORAGE_USE.version]
NOW = 1_800_000_000_000


def h(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


async def _old_database(path: Path) -> None:
    """A database from before sizes were counted by the server: alice committed a 3 MiB block
    as 1 byte, attached a 1 MiB block as 5 bytes, and has one upload no commit used; her
    committed upload is still on record, as every upload was."""
    db = await SqliteDatabase(path, BEFORE).open()
    async with db.write() as tx:
        await tx.execute(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'alice', '', 0)"
        )
        await tx.execute(
            "INSERT INTO namespaces (id, kind, owner_id, name, seq, created_at)"
            " VALUES (10, 'home', 1, '', 1, 0)"
        )
        await tx.execute("INSERT INTO namespace_members VALUES (10, 1, 'owner', NULL)")
        for name, size in (("big", 3 << 20), ("photo", 1 << 20), ("waiting", 5000)):
            await tx.execute(
                "INSERT INTO blocks (hash, size, stored_size, refcount, created_at)"
                " VALUES (?, ?, ?, ?, 0)",
                (h(name), size, size, 0 if name == "waiting" else 1),
            )
            await tx.execute("INSERT INTO block_uploads VALUES (1, ?, 0)", (h(name),))
        await tx.execute(
            "INSERT INTO file_versions (id, namespace_id, path, seq, kind, size, mtime_ms,"
            " deleted, parent_id, user_id, device_name, created_at)"
            " VALUES (100, 10, 'big.bin', 1, 'file', 1, 0, 0, NULL, 1, 'd', 0)"
        )
        await tx.execute("INSERT INTO version_blocks VALUES (100, 0, ?)", (h("big"),))
        await tx.execute("INSERT INTO files_current VALUES (10, 'big.bin', 'big.bin', 100, 1, 0)")
        await tx.execute("INSERT INTO attachments VALUES (200, 1, 'photo.jpg', 5, 0)")
        await tx.execute("INSERT INTO attachment_blocks VALUES (200, 0, ?)", (h("photo"),))
    await db.close()


async def test_the_migration_counts_sizes_from_the_blocks_and_keeps_running_totals(
    tmp_path: Path,
) -> None:
    await _old_database(tmp_path / "roost.db")
    db = await SqliteDatabase(tmp_path / "roost.db", server_schema.MIGRATIONS).open()
    files = FileRepository(db)
    try:
        async with db.reader.execute("SELECT size FROM file_versions WHERE id = 100") as cur:
            assert (await cur.fetchone())[0] == 3 << 20
        assert (await files.attachment(200, db.reader)).size == 1 << 20
        # committed uploads are settled; the one no commit used waits, and counts
        assert await storage_use(db.reader, 1) == StorageUse((3 << 20) + (1 << 20), 2, 5000)

        async with db.write() as tx:  # the totals follow every write from here on
            new = NewVersion("big.bin", "big.bin", "file", 3 << 20, 0, False, 100, [h("big")])
            await files.add_version(tx, 101, 10, new, 1, "d", NOW)
            await files.add_attachment(tx, 201, 1, "again.jpg", 1 << 20, [h("photo")], NOW)
            await files.settle_uploads(tx, 1, [h("waiting")])
        assert await storage_use(db.reader, 1) == StorageUse((7 << 20) + (1 << 20), 4, 0)
        async with db.write() as tx:
            await purge_history(tx, files, 10, "big.bin")
        assert await storage_use(db.reader, 1) == StorageUse((4 << 20) + (1 << 20), 3, 0)
        assert await storage_use(db.reader, 99) == StorageUse(0, 0, 0)  # nobody
    finally:
        await db.close()


async def test_uploads_staged_lists_and_keys_expire_at_their_ages(tmp_path: Path) -> None:
    db = await SqliteDatabase(tmp_path / "roost.db", server_schema.MIGRATIONS).open()
    files = FileRepository(db)
    try:
        async with db.write() as tx:
            await tx.execute(
                "INSERT INTO users (id, username, password_hash, created_at)"
                " VALUES (1, 'alice', '', 0)"
            )
        for name, age in (("old", DAY_MS + 1), ("young", DAY_MS - HOUR_MS)):
            await files.record_upload(1, h(name), 1000, 1000, NOW - age)
            async with db.write() as tx:
                await files.stage(tx, 1, f"{name}-list", 0, [h(name)] * 3, NOW - age)
        async with db.write() as tx:
            for client_id, age in (("old-key", 30 * DAY_MS + 1), ("young-key", 29 * DAY_MS)):
                await tx.execute(
                    "INSERT INTO idempotency_keys VALUES (1, ?, 'profile.set', x'7b7d', ?)",
                    (client_id, NOW - age),
                )
        assert (await storage_use(db.reader, 1)).uncommitted_bytes == 2000

        done = await expire(db, NOW, Ages())
        assert (done.uploads, done.staged, done.idempotency_keys) == (1, 3, 1)
        assert (await storage_use(db.reader, 1)).uncommitted_bytes == 1000
        async with db.write() as tx:
            assert await files.take_staged(tx, 1, "old-list") == []
            assert await files.take_staged(tx, 1, "young-list") == [h("young")] * 3
        async with db.reader.execute("SELECT client_id FROM idempotency_keys") as cur:
            assert [r[0] for r in await cur.fetchall()] == ["young-key"]
        assert not await expire(db, NOW, Ages())  # nothing more to forget
    finally:
        await db.close()
