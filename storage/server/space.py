"""Storage space: what each user's data adds up to (for quotas), purging old versions, and
collecting blocks that nothing refers to any more.

Collection is safe beside a running server: only blocks unreferenced for a grace period are
taken (an upload not yet committed is younger than that), rows go first, in one transaction,
then the bytes, each kept if an upload re-stored it meanwhile (`BlockStore.collect`).

Blocks in S3 cannot be re-stored in place, so there the database orders uploads and
collections instead: an upload claims its blocks (`claim_blocks`) before it asks the store
whether their bytes are there, and a collection deletes bytes only while it holds the rows of
what goes (see storage/content/s3_blocks.py for the reasoning).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from storage.content.blocks import LocalBlockStore, pack_table
from storage.content.s3_blocks import S3BlockStore
from storage.database import Database, Handle, marks
from storage.server.files import FileRepository, _chunks

GC_BATCH = 2000  # blocks forgotten per transaction


@dataclass(frozen=True, slots=True)
class StorageUse:
    """What counts against one user (see server.quota for the rules that use it)."""

    bytes: int  # every kept version in namespaces they own, and their attachments
    entries: int  # how many of those: versions (deletions and folders too) and attachments
    uncommitted_bytes: int  # blocks they uploaded that no commit of theirs has used yet


async def storage_use(conn: Handle, user_id: int) -> StorageUse:
    """A user's storage use, from the running totals kept beside the rows they count (the
    triggers of the "storage use" migration): two index lookups whatever the user holds."""
    async with conn.execute(
        "SELECT COALESCE(SUM(bytes), 0), COALESCE(SUM(entries), 0) FROM namespaces"
        " WHERE owner_id = ?",
        (user_id,),
    ) as cur:
        row = await cur.fetchone()
    version_bytes, versions = (int(row[0]), int(row[1])) if row else (0, 0)
    async with conn.execute(
        "SELECT attachment_bytes, attachments, uncommitted_bytes FROM user_use WHERE user_id = ?",
        (user_id,),
    ) as cur:
        own = await cur.fetchone()
    attached, attachments, uncommitted = (int(v) for v in own) if own else (0, 0, 0)
    return StorageUse(version_bytes + attached, versions + attachments, uncommitted)


async def hold_space(tx: Handle, owner_id: int) -> None:
    """Take turns with every other change to what `owner_id` stores, to the end of `tx`:
    commits into their namespaces, attachments, purges. On PostgreSQL transactions run side
    by side, so two commits on one path with the same parent would both pass the parent
    check, and two near the quota would both fit; locking the owner's namespace rows (in id
    order, so two holders never wait on each other) before reading the paths and the use
    gives them the order SQLite's single writer gives them anyway."""
    if tx.engine == "postgresql":
        await tx.execute(
            "SELECT id FROM namespaces WHERE owner_id = ? ORDER BY id FOR UPDATE", (owner_id,)
        )


async def uncommitted_bytes(conn: Handle, user_id: int) -> int:
    async with conn.execute(
        "SELECT uncommitted_bytes FROM user_use WHERE user_id = ?", (user_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Purged:
    versions: int
    bytes: int


async def purge_history(tx: Handle, files: FileRepository, ns_id: int, path: str) -> Purged:
    """Forget every version of `path` and of the paths under it except each one's current
    version (a deleted file keeps only its tombstone, so other devices still learn of the
    deletion); their blocks' refcounts drop, for `collect_garbage` to take."""
    async with tx.execute(
        "SELECT v.id, v.size FROM file_versions v WHERE v.namespace_id = ?"
        " AND (v.path = ? OR substr(v.path, 1, ?) = ?)"
        " AND v.id NOT IN (SELECT version_id FROM files_current WHERE namespace_id = ?)",
        (ns_id, path, len(path) + 1, path + "/", ns_id),
    ) as cur:
        rows = [(int(r[0]), int(r[1])) for r in await cur.fetchall()]
    await files.release_versions(tx, [version_id for version_id, _ in rows])
    return Purged(len(rows), sum(size for _, size in rows))


async def _with_rows(db: Database, digests: list[bytes]) -> set[bytes]:
    """Those of `digests` the database still has a row for (referenced, or uploaded and not
    yet collectable)."""
    known: set[bytes] = set()
    for part in _chunks([d.hex() for d in digests]):
        in_list = marks(part)
        async with db.reader.execute(
            f"SELECT hash FROM blocks WHERE hash IN ({in_list})", list(part)
        ) as cur:
            known.update(bytes.fromhex(str(r[0])) for r in await cur.fetchall())
    return known


@dataclass(frozen=True)
class Collected:
    blocks: int  # unreferenced blocks whose bytes were deleted
    bytes: int  # on disk, compressed, freed (blocks plus leftover temp files)
    kept: int  # unreferenced, but re-uploaded during the collection: left in place


async def collect_garbage(
    db: Database,
    store: LocalBlockStore | S3BlockStore,
    *,
    grace_seconds: float,
    now: float | None = None,
) -> Collected:
    """Delete blocks with no reference that are older than the grace period; then block files
    the database has no row for (left by a crash between storing and recording an upload)."""
    now = time.time() if now is None else now
    idle_before = now - grace_seconds
    if isinstance(store, S3BlockStore):
        return await _collect_s3(db, store, idle_before)
    files = FileRepository(db)
    freed = kept = count = 0
    while True:  # in short transactions: a running server's writes wait for each one
        async with db.write() as tx:
            hashes = await files.collectable(tx, int(idle_before * 1000), GC_BATCH)
        for h in hashes:
            n = store.collect(bytes.fromhex(h), idle_before)
            if n is None:
                continue  # packed (the pack pass below takes it) or already gone
            freed += n
            kept += n == 0
            count += n > 0
        if len(hashes) < GC_BATCH:
            break
    orphans = [d for d, mtime in store.digests() if mtime < idle_before]
    known = await _with_rows(db, orphans)
    for digest in orphans:
        if digest not in known and (n := store.collect(digest, idle_before)):
            freed += n
            count += 1
    for pack, mtime in store.packs():
        if mtime >= idle_before:
            continue
        digests = [d for d, _, _ in pack_table(pack)]
        live = await _with_rows(db, digests)
        dead = len(digests) - len(live)
        # A pack is rewritten once half of it is garbage: copying survivors costs I/O.
        if dead and dead * 2 >= len(digests) and (n := store.repack(pack, live, idle_before)):
            freed += n
            count += dead
    freed += store.remove_stale_temps(idle_before)
    return Collected(count, freed, kept)


# ---------------------------------------------------------------------- blocks in S3
async def claim_blocks(db: Database, blocks: Sequence[tuple[bytes, int, int]], now_ms: int) -> None:
    """Before storing uploaded blocks in S3: give each (digest, raw size, stored size) a
    `blocks` row made or refreshed now, committed. A collection that did not hold the row
    first will now leave the bytes alone for its grace period; one that did has finished
    deleting them when this returns (the store then finds them absent and PUTs them). Rows
    in digest order, as the collection locks them, so the two never deadlock."""
    rows = sorted({d.hex(): (d.hex(), size, stored, now_ms) for d, size, stored in blocks}.items())
    async with db.write() as tx:
        await tx.executemany(
            "INSERT INTO blocks (hash, size, stored_size, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (hash) DO UPDATE SET created_at = excluded.created_at",
            [row for _, row in rows],
        )


S3_GC_BATCH = 500  # rows held (and objects deleted) per transaction: uploads wait for each


async def _collect_s3(db: Database, store: S3BlockStore, idle_before: float) -> Collected:
    """Collection on S3: every deletion of bytes happens inside the write transaction that
    holds the rows of what it deletes (claim_blocks waits on them), in three passes."""
    count = freed = 0
    while True:  # rows unreferenced past the grace period, and their own objects
        async with db.write() as tx:
            rows = await _lock_collectable(tx, int(idle_before * 1000))
            digests = [bytes.fromhex(h) for h, _ in rows]
            packed = {d for d in digests if d in store._packed}
            await _forget(tx, [h for h, _ in rows])
            await asyncio.to_thread(store.delete_many, [d for d in digests if d not in packed])
        gone = [size for h, size in rows if bytes.fromhex(h) not in packed]
        count += len(gone)  # packed ones count when their pack is rewritten, below
        freed += sum(gone)
        if len(rows) < S3_GC_BATCH:
            break
    orphans = [(d, size) for d, mtime, size in await asyncio.to_thread(list, store.digests())
               if mtime < idle_before]  # fmt: skip
    for start in range(0, len(orphans), S3_GC_BATCH):
        part = dict(orphans[start : start + S3_GC_BATCH])
        async with db.write() as tx:
            ours = await _hold_absent(tx, list(part))  # no row: a crash left them unrecorded
            await asyncio.to_thread(store.delete_many, sorted(ours))
            await _forget(tx, [d.hex() for d in ours])
        count += len(ours)
        freed += sum(part[d] for d in ours)
    for name, mtime, _size in await asyncio.to_thread(store.packs):
        if mtime >= idle_before:
            continue
        try:
            table = await asyncio.to_thread(store.pack_table, name)
        except FileNotFoundError:
            continue
        digests = [d for d, _, _ in table]
        if len(await _with_rows(db, digests)) * 2 > len(digests):
            continue  # mostly live (read without a lock: the transaction below decides)
        async with db.write() as tx:
            dead = await _hold_absent(tx, digests)
            # A pack is rewritten once half of it is garbage: copying survivors costs I/O.
            if dead and len(dead) * 2 >= len(digests):
                # The live ones need no lock: only a collection deletes rows, and an upload
                # refreshing one meanwhile finds it still in the pack or in the new one.
                live = set(digests) - dead
                freed += await asyncio.to_thread(store.repack, name, live)
                count += len(dead)
            await _forget(tx, [d.hex() for d in dead])
    return Collected(count, freed, 0)


async def _lock_collectable(tx: Handle, older_than_ms: int) -> list[tuple[str, int]]:
    """Up to S3_GC_BATCH unreferenced rows past the grace period, locked (on PostgreSQL;
    SQLite's writer holds everything) in digest order; rows an upload is claiming right now
    are skipped: they are not garbage."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.engine == "postgresql" else ""
    async with tx.execute(
        "SELECT hash, stored_size FROM blocks WHERE refcount <= 0 AND created_at < ? AND NOT"
        " EXISTS (SELECT 1 FROM attachment_blocks a WHERE a.hash = blocks.hash)"
        f" ORDER BY hash LIMIT ?{lock}",
        (older_than_ms, S3_GC_BATCH),
    ) as cur:
        return [(str(r[0]), int(r[1])) for r in await cur.fetchall()]


async def _hold_absent(tx: Handle, digests: Sequence[bytes]) -> set[bytes]:
    """Those of `digests` with no row: each gets a placeholder row of this transaction (an
    upload's claim of it waits until we commit), which `_forget` removes before the commit.
    Inserted in digest order, as claims are, so the two never wait on each other in a
    circle; a row a claim is inserting right now is waited for, then counts as live."""
    held: set[bytes] = set()
    hexes = sorted({d.hex() for d in digests})
    for part in _chunks(hexes):
        values = ",".join("(?, 0, 0, 0)" for _ in part)
        async with tx.execute(
            f"INSERT INTO blocks (hash, size, stored_size, created_at) VALUES {values}"
            " ON CONFLICT (hash) DO NOTHING RETURNING hash",
            list(part),
        ) as cur:
            held.update(bytes.fromhex(str(r[0])) for r in await cur.fetchall())
    return held


async def _forget(tx: Handle, hashes: Sequence[str]) -> None:
    for part in _chunks(list(hashes)):
        in_list = marks(part)
        await tx.execute(f"DELETE FROM block_uploads WHERE hash IN ({in_list})", list(part))
        await tx.execute(f"DELETE FROM blocks WHERE hash IN ({in_list})", list(part))
