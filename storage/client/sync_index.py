"""The sync client's local index: the workspace root, a hash cache of local files (path, size,
mtime, inode -> blocks), the synced base of each path (the merge base), the remote view fed by
the journal cursor, and the cursors themselves.

Rows come back typed: a local file's chunks as (hash, length) pairs, a version's blocks as a
tuple of hashes. On disk they are text joined by commas (`hash:length` for local chunks), so
the format of existing indexes is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True, slots=True)
class LocalRow:
    path: str
    size: int
    mtime_ns: int
    inode: int
    chunks: tuple[tuple[str, int], ...]  # (hash, length), in file order


@dataclass(frozen=True, slots=True)
class SyncedRow:
    namespace_id: str
    path: str
    version_id: str
    kind: str
    deleted: bool
    blocks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RemoteRow:
    namespace_id: str
    path: str
    version_id: str
    kind: str
    size: int
    mtime_ms: int
    deleted: bool
    blocks: tuple[str, ...]


class SyncIndex:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def root(self) -> str | None:
        async with self._db.reader.execute("SELECT root FROM sync_workspace") as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def bind(self, root: str) -> None:
        """A new root starts from nothing: the old base does not describe the new folder."""
        async with self._db.write() as tx:
            await tx.execute(
                "INSERT INTO sync_workspace (id, root) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET root = excluded.root",
                (root,),
            )
            for table in (
                "sync_local", "sync_synced", "sync_remote", "sync_cursors", "sync_mounts",
                "sync_detached",
            ):  # fmt: skip
                await tx.execute(f"DELETE FROM {table}")

    # ------------------------------------------------------------------ local hash cache
    async def local_rows(self) -> dict[str, LocalRow]:
        async with self._db.reader.execute("SELECT * FROM sync_local") as cur:
            return {
                r[0]: LocalRow(r[0], r[1], r[2], r[3], decode_chunks(r[4]))
                for r in await cur.fetchall()
            }

    async def put_local(self, rows: Iterable[LocalRow]) -> None:
        async with self._db.write() as tx:
            await tx.executemany(
                "INSERT OR REPLACE INTO sync_local VALUES (?, ?, ?, ?, ?)",
                [(r.path, r.size, r.mtime_ns, r.inode, encode_chunks(r.chunks)) for r in rows],
            )

    async def drop_local(self, paths: Iterable[str]) -> None:
        async with self._db.write() as tx:
            await tx.executemany("DELETE FROM sync_local WHERE path = ?", [(p,) for p in paths])

    # ------------------------------------------------------------------ synced base
    async def synced(self, namespace_id: str) -> dict[str, SyncedRow]:
        async with self._db.reader.execute(
            "SELECT * FROM sync_synced WHERE namespace_id = ?", (namespace_id,)
        ) as cur:
            return {
                r[1]: SyncedRow(r[0], r[1], r[2], r[3], bool(r[4]), decode_hashes(r[5]))
                for r in await cur.fetchall()
            }

    async def put_synced(self, rows: Iterable[SyncedRow]) -> None:
        async with self._db.write() as tx:
            await tx.executemany(
                "INSERT OR REPLACE INTO sync_synced VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.namespace_id,
                        r.path,
                        r.version_id,
                        r.kind,
                        int(r.deleted),
                        ",".join(r.blocks),
                    )
                    for r in rows
                ],
            )

    async def has_synced(self, namespace_id: str | None = None) -> bool:
        """Whether any path (of one namespace) was synced here: then the folder has a base a
        pass compares with."""
        sql, args = "SELECT 1 FROM sync_synced", tuple[str, ...]()
        if namespace_id is not None:
            sql, args = sql + " WHERE namespace_id = ?", (namespace_id,)
        async with self._db.reader.execute(sql + " LIMIT 1", args) as cur:
            return await cur.fetchone() is not None

    async def forget_synced(self, namespace_id: str | None = None) -> None:
        """Drop the base of one namespace (all when None): its next pass is a first one, which
        deletes nothing. The hash cache and the server's view stay: they still hold."""
        async with self._db.write() as tx:
            if namespace_id is None:
                await tx.execute("DELETE FROM sync_synced")
            else:
                await tx.execute("DELETE FROM sync_synced WHERE namespace_id = ?", (namespace_id,))

    async def forget_namespace(self, namespace_id: str) -> None:
        async with self._db.write() as tx:
            for table in ("sync_synced", "sync_remote", "sync_cursors", "sync_mounts"):
                await tx.execute(f"DELETE FROM {table} WHERE namespace_id = ?", (namespace_id,))

    async def mounts(self) -> dict[str, str]:
        """Shared namespace id -> the top-level folder this workspace shows it as."""
        async with self._db.reader.execute("SELECT namespace_id, folder FROM sync_mounts") as cur:
            return {str(r[0]): str(r[1]) for r in await cur.fetchall()}

    async def detached(self) -> set[str]:
        """Top-level folders kept on this device only (copies of shares it left)."""
        async with self._db.reader.execute("SELECT folder FROM sync_detached") as cur:
            return {str(r[0]) for r in await cur.fetchall()}

    async def detach(self, folder: str) -> None:
        async with self._db.write() as tx:
            await tx.execute("INSERT OR IGNORE INTO sync_detached (folder) VALUES (?)", (folder,))

    async def excluded(self) -> set[str]:
        """Workspace folders this device does not keep (`roost sync exclude`): never fetched,
        never uploaded, never deleted anywhere because they are missing here. They outlive a
        change of workspace folder: they are this device's choice, not the folder's."""
        async with self._db.reader.execute("SELECT path FROM sync_excluded") as cur:
            return {str(r[0]) for r in await cur.fetchall()}

    async def set_excluded(self, path: str, excluded: bool) -> None:
        async with self._db.write() as tx:
            if excluded:
                await tx.execute("INSERT OR IGNORE INTO sync_excluded (path) VALUES (?)", (path,))
            else:
                await tx.execute("DELETE FROM sync_excluded WHERE path = ?", (path,))

    async def forget_under(self, namespace_id: str, path: str, local_prefix: str) -> None:
        """Forget the base of `path` and everything under it in one namespace, and the hash
        cache under `local_prefix` (its workspace path): the next pass that sees it again
        (once included) takes it as new here, deleting nothing on the server."""
        async with self._db.write() as tx:  # exact, case and all (LIKE folds ASCII case)
            await tx.execute(
                "DELETE FROM sync_synced WHERE namespace_id = ? AND (? = '' OR path = ?"
                " OR substr(path, 1, length(?) + 1) = ? || '/')",
                (namespace_id, path, path, path, path),
            )
            await tx.execute(
                "DELETE FROM sync_local WHERE path = ?"
                " OR substr(path, 1, length(?) + 1) = ? || '/'",
                (local_prefix, local_prefix, local_prefix),
            )

    async def put_mounts(self, mounts: dict[str, str]) -> None:
        async with self._db.write() as tx:
            await tx.executemany(
                "INSERT OR REPLACE INTO sync_mounts (namespace_id, folder) VALUES (?, ?)",
                list(mounts.items()),
            )

    async def namespaces_known(self) -> set[str]:
        async with self._db.reader.execute("SELECT namespace_id FROM sync_cursors") as cur:
            return {str(r[0]) for r in await cur.fetchall()}

    async def top_level_names(self, namespace_id: str) -> set[str]:
        """The names at the top of a namespace's live paths in the remote view."""
        async with self._db.reader.execute(
            "SELECT DISTINCT substr(path, 1, instr(path || '/', '/') - 1) FROM sync_remote"
            " WHERE namespace_id = ? AND deleted = 0",
            (namespace_id,),
        ) as cur:
            return {str(r[0]) for r in await cur.fetchall()}

    # ------------------------------------------------------------------ remote view
    async def remote(self, namespace_id: str) -> dict[str, RemoteRow]:
        async with self._db.reader.execute(
            "SELECT * FROM sync_remote WHERE namespace_id = ?", (namespace_id,)
        ) as cur:
            return {
                r[1]: RemoteRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), decode_hashes(r[7]))
                for r in await cur.fetchall()
            }

    async def put_remote(self, rows: Iterable[RemoteRow], cursor: tuple[str, int] | None) -> None:
        async with self._db.write() as tx:
            await tx.executemany(
                "INSERT OR REPLACE INTO sync_remote VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.namespace_id, r.path, r.version_id, r.kind, r.size, r.mtime_ms,
                     int(r.deleted), ",".join(r.blocks))
                    for r in rows
                ],
            )  # fmt: skip
            if cursor is not None:
                await tx.execute(
                    "INSERT OR REPLACE INTO sync_cursors (namespace_id, seq) VALUES (?, ?)", cursor
                )

    async def cursor(self, namespace_id: str) -> int:
        async with self._db.reader.execute(
            "SELECT seq FROM sync_cursors WHERE namespace_id = ?", (namespace_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


def encode_chunks(chunks: tuple[tuple[str, int], ...]) -> str:
    return ",".join(f"{h}:{n}" for h, n in chunks)


def decode_chunks(text: str) -> tuple[tuple[str, int], ...]:
    if not text:
        return ()
    out = []
    for item in text.split(","):
        h, _, n = item.partition(":")
        out.append((h, int(n or 0)))
    return tuple(out)


def decode_hashes(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()
