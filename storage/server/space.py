"""Storage space: what each user's data adds up to (for quotas), purging old versions, and
collecting blocks that nothing refers to any more.

Collection is safe beside a running server: only blocks unreferenced for a grace period are
taken (an upload not yet committed is younger than that), rows go first, in one transaction,
then the bytes, each kept if an upload re-stored it meanwhile (`BlockStore.collect`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from storage.content.blocks import LocalBlockStore, pack_table
from storage.database import Database, Handle
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
        marks = ",".join("?" * len(part))
        async with db.reader.execute(
            f"SELECT hash FROM blocks WHERE hash IN ({marks})", list(part)
        ) as cur:
            known.update(bytes.fromhex(str(r[0])) for r in await cur.fetchall())
    return known


@dataclass(frozen=True)
class Collected:
    blocks: int  # unreferenced blocks whose bytes were deleted
    bytes: int  # on disk, compressed, freed (blocks plus leftover temp files)
    kept: int  # unreferenced, but re-uploaded during the collection: left in place


async def collect_garbage(
    db: Database, store: LocalBlockStore, *, grace_seconds: float, now: float | None = None
) -> Collected:
    """Delete blocks with no reference that are older than the grace period; then block files
    the database has no row for (left by a crash between storing and recording an upload)."""
    now = time.time() if now is None else now
    idle_before = now - grace_seconds
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
