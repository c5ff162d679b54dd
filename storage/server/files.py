"""Files metadata: namespaces, members and invitations to shares, the per-namespace journal
of versions (gap-free `seq`), current paths, block reference counts, upload and staging
records, attachments.

All SQL for files lives here; the rules (who may do what, when a commit conflicts) live in
the handlers' plain functions.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from storage.database import Database, Handle, marks
from storage.server.visibility import author_visible
from storage.sqlite import SqliteDatabase

_MAX_VARS = 500  # stay well under SQLite's bound-parameter limit
ALL_ROWS = 2**63 - 1  # a LIMIT both engines read as "no limit"


@dataclass(frozen=True, slots=True)
class NamespaceRecord:
    id: int
    kind: str
    name: str
    owner_id: int
    owner: str
    role: str
    seq: int


@dataclass(frozen=True, slots=True)
class VersionRecord:
    id: int
    namespace_id: int
    path: str
    seq: int
    kind: str
    size: int
    mtime_ms: int
    deleted: bool
    parent_id: int | None
    device_name: str
    created_at: int
    blocks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewVersion:
    path: str
    path_key: str
    kind: str
    size: int
    mtime_ms: int
    deleted: bool
    parent_id: int | None
    blocks: Sequence[str]


@dataclass(frozen=True, slots=True)
class InvitationRecord:
    """A share offered to a user who has not answered yet: not a member."""

    id: int
    namespace_id: int
    user_id: int
    username: str  # the invitee
    folder: str  # the share's own name
    owner_id: int
    owner: str
    role: str
    created_at: int


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    id: int
    owner_id: int
    owner: str
    name: str
    size: int
    created_at: int
    blocks: tuple[str, ...]


# Who may read attachment `a` (one `?`: the reader): its owner, or anyone while it is on a
# live post, since every signed-in user can read every post.
# Who may read an attachment (its one `?` is the reader): its owner, or anyone who may see a
# live post carrying it (a locked author's post: their approved followers only).
_READABLE_ATTACHMENT = (
    "EXISTS (SELECT 1 FROM (SELECT CAST(? AS BIGINT) AS id) reader WHERE a.owner_id = reader.id"
    " OR EXISTS (SELECT 1 FROM post_attachments pa JOIN posts p ON p.id = pa.post_id"
    " WHERE pa.attachment_id = a.id AND p.deleted_at IS NULL"
    f" AND {author_visible('p.author_id', 'reader.id')}))"
)
_NS_SELECT = (
    "SELECT n.id, n.kind, COALESCE(m.mount_name, n.name), n.owner_id, u.username, m.role, n.seq"
    " FROM namespaces n"
    " JOIN namespace_members m ON m.namespace_id = n.id JOIN users u ON u.id = n.owner_id"
)
_INVITATION_SELECT = (
    "SELECT i.id, i.namespace_id, i.user_id, iu.username, n.name, n.owner_id, ou.username,"
    " i.role, i.created_at FROM share_invitations i"
    " JOIN namespaces n ON n.id = i.namespace_id"
    " JOIN users iu ON iu.id = i.user_id JOIN users ou ON ou.id = n.owner_id"
)
_V_SELECT = (
    "SELECT id, namespace_id, path, seq, kind, size, mtime_ms, deleted, parent_id,"
    " device_name, created_at FROM file_versions"
)


_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> Iterable[Sequence[_T]]:
    for i in range(0, len(items), _MAX_VARS):
        yield items[i : i + _MAX_VARS]


class FileRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._uploads: list[tuple[tuple[int, str, int, int, int], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._checks: dict[int, list[tuple[str, asyncio.Future[bool]]]] = {}
        self._checker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ namespaces
    async def ensure_home(self, tx: Handle, user_id: int, new_id: int, now: int) -> int:
        async with tx.execute(
            "SELECT id FROM namespaces WHERE owner_id = ? AND kind = 'home'", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        if row:
            return int(row[0])
        # Two first calls at once (two devices) race on PostgreSQL: the second waits for the
        # first's home, inserts nothing, and reads it.
        cur = await tx.execute(
            "INSERT INTO namespaces (id, kind, owner_id, name, created_at)"
            " VALUES (?, 'home', ?, '', ?) ON CONFLICT (owner_id) WHERE kind = 'home' DO NOTHING",
            (new_id, user_id, now),
        )
        if cur.rowcount == 0:
            return await self.ensure_home(tx, user_id, new_id, now)
        await tx.execute(
            "INSERT INTO namespace_members (namespace_id, user_id, role) VALUES (?, ?, 'owner')",
            (new_id, user_id),
        )
        return new_id

    async def has_home(self, user_id: int) -> bool:
        async with self._db.reader.execute(
            "SELECT 1 FROM namespaces WHERE owner_id = ? AND kind = 'home'", (user_id,)
        ) as cur:
            return await cur.fetchone() is not None

    async def namespaces_of(self, user_id: int, conn: Handle) -> list[NamespaceRecord]:
        async with conn.execute(
            _NS_SELECT + " WHERE m.user_id = ? ORDER BY n.kind, n.name", (user_id,)
        ) as cur:
            return [NamespaceRecord(*row) for row in await cur.fetchall()]

    async def namespace_for(
        self, user_id: int, namespace_id: int, conn: Handle
    ) -> NamespaceRecord | None:
        async with conn.execute(
            _NS_SELECT + " WHERE m.user_id = ? AND n.id = ?", (user_id, namespace_id)
        ) as cur:
            row = await cur.fetchone()
        return NamespaceRecord(*row) if row else None

    async def shared_by_name(self, conn: Handle, owner_id: int, key: str) -> tuple[int, str] | None:
        """The owner's shared folder whose case-folded name is `key`: (id, its own name)."""
        async with conn.execute(
            "SELECT id, name FROM namespaces WHERE owner_id = ? AND kind = 'shared'", (owner_id,)
        ) as cur:
            rows = await cur.fetchall()
        return next(((int(i), str(n)) for i, n in rows if str(n).casefold() == key), None)

    async def shared_name(self, ns_id: int, conn: Handle) -> str:
        """A namespace's own name (members may mount it under another)."""
        async with conn.execute("SELECT name FROM namespaces WHERE id = ?", (ns_id,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else ""

    async def create_shared(
        self, tx: Handle, ns_id: int, owner_id: int, name: str, now: int
    ) -> None:
        await tx.execute(
            "INSERT INTO namespaces (id, kind, owner_id, name, created_at)"
            " VALUES (?, 'shared', ?, ?, ?)",
            (ns_id, owner_id, name, now),
        )
        await self.set_member(tx, ns_id, owner_id, "owner")

    async def set_member(
        self,
        tx: Handle,
        ns_id: int,
        user_id: int,
        role: str,
        mount_name: str | None = None,
    ) -> None:
        """Add a member (mounting the share as `mount_name`, None for its own name) or change
        a member's role (the mount name stays)."""
        await tx.execute(
            "INSERT INTO namespace_members (namespace_id, user_id, role, mount_name)"
            " VALUES (?, ?, ?, ?)"
            " ON CONFLICT (namespace_id, user_id) DO UPDATE SET role = excluded.role",
            (ns_id, user_id, role, mount_name),
        )

    async def top_level_names(self, conn: Handle, user_id: int) -> set[str]:
        """Case-folded names a user's workspace already uses at its top: live top-level paths
        of their home and the names their shares are mounted under."""
        names: set[str] = set()
        # where a text first holds another: SQLite's instr, PostgreSQL's strpos (same arguments)
        find = "strpos" if conn.engine == "postgresql" else "instr"
        async with conn.execute(
            f"SELECT DISTINCT substr(c.path, 1, {find}(c.path || '/', '/') - 1)"
            " FROM files_current c JOIN namespaces n ON n.id = c.namespace_id"
            " WHERE n.owner_id = ? AND n.kind = 'home' AND c.deleted = 0",
            (user_id,),
        ) as cur:
            names.update(str(r[0]).casefold() for r in await cur.fetchall())
        for ns in await self.namespaces_of(user_id, conn):
            if ns.kind == "shared":
                names.add(ns.name.casefold())
        return names

    async def remove_member(self, tx: Handle, ns_id: int, user_id: int) -> bool:
        cur = await tx.execute(
            "DELETE FROM namespace_members"
            " WHERE namespace_id = ? AND user_id = ? AND role != 'owner'",
            (ns_id, user_id),
        )
        return cur.rowcount > 0

    async def members(self, ns_id: int, conn: Handle) -> list[tuple[int, str, str, str | None]]:
        """(user id, username, role, mount name or None) of each member."""
        async with conn.execute(
            "SELECT u.id, u.username, m.role, m.mount_name FROM namespace_members m JOIN users u"
            " ON u.id = m.user_id WHERE m.namespace_id = ? ORDER BY u.username",
            (ns_id,),
        ) as cur:
            return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in await cur.fetchall()]

    # ------------------------------------------------------------------ invitations
    async def invite(
        self,
        tx: Handle,
        new_id: int,
        ns_id: int,
        user_id: int,
        role: str,
        invited_by: int,
        now: int,
    ) -> int:
        """Offer a share to a user; asking again while one waits changes its role (one
        pending invitation per share and user). Returns the invitation's id."""
        async with tx.execute(
            "INSERT INTO share_invitations (id, namespace_id, user_id, role, invited_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace_id, user_id)"
            " DO UPDATE SET role = excluded.role RETURNING id",
            (new_id, ns_id, user_id, role, invited_by, now),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def invitations_for(self, user_id: int, conn: Handle) -> list[InvitationRecord]:
        async with conn.execute(
            _INVITATION_SELECT + " WHERE i.user_id = ? ORDER BY i.id", (user_id,)
        ) as cur:
            return [InvitationRecord(*row) for row in await cur.fetchall()]

    async def invitation(
        self, conn: Handle, invitation_id: int, user_id: int
    ) -> InvitationRecord | None:
        """An invitation, only if it was made to `user_id`: nobody else may see or answer it."""
        async with conn.execute(
            _INVITATION_SELECT + " WHERE i.id = ? AND i.user_id = ?", (invitation_id, user_id)
        ) as cur:
            row = await cur.fetchone()
        return InvitationRecord(*row) if row else None

    async def pending_invitation(
        self, conn: Handle, ns_id: int, user_id: int
    ) -> InvitationRecord | None:
        async with conn.execute(
            _INVITATION_SELECT + " WHERE i.namespace_id = ? AND i.user_id = ?", (ns_id, user_id)
        ) as cur:
            row = await cur.fetchone()
        return InvitationRecord(*row) if row else None

    async def invitations_of(self, ns_id: int, conn: Handle) -> list[InvitationRecord]:
        """The invitations to one share still waiting for an answer."""
        async with conn.execute(
            _INVITATION_SELECT + " WHERE i.namespace_id = ? ORDER BY iu.username", (ns_id,)
        ) as cur:
            return [InvitationRecord(*row) for row in await cur.fetchall()]

    async def pending_between(self, conn: Handle, owner_id: int, user_id: int) -> int:
        """How many of this owner's shares wait for this user's answer."""
        async with conn.execute(
            "SELECT COUNT(*) FROM share_invitations i JOIN namespaces n ON n.id = i.namespace_id"
            " WHERE n.owner_id = ? AND i.user_id = ?",
            (owner_id, user_id),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def drop_invitation(self, tx: Handle, invitation_id: int) -> None:
        await tx.execute("DELETE FROM share_invitations WHERE id = ?", (invitation_id,))

    # ------------------------------------------------------------------ journal and versions
    async def current(self, conn: Handle, ns_id: int, path: str) -> tuple[int, bool] | None:
        async with conn.execute(
            "SELECT version_id, deleted FROM files_current WHERE namespace_id = ? AND path = ?",
            (ns_id, path),
        ) as cur:
            row = await cur.fetchone()
        return (int(row[0]), bool(row[1])) if row else None

    async def currents(
        self, conn: Handle, ns_id: int, paths: Sequence[str]
    ) -> dict[str, tuple[int, bool]]:
        """`current` for many paths at once: path -> (version id, deleted)."""
        out: dict[str, tuple[int, bool]] = {}
        for part in _chunks(list(dict.fromkeys(paths))):
            in_list = marks(part)
            async with conn.execute(
                "SELECT path, version_id, deleted FROM files_current"
                f" WHERE namespace_id = ? AND path IN ({in_list})",
                [ns_id, *part],
            ) as cur:
                for path, vid, deleted in await cur.fetchall():
                    out[str(path)] = (int(vid), bool(deleted))
        return out

    async def live_kinds(self, conn: Handle, ns_id: int, paths: Iterable[str]) -> dict[str, str]:
        """The kind ("file" or "dir") of each of these paths that is live."""
        out: dict[str, str] = {}
        for part in _chunks(list(dict.fromkeys(paths))):
            in_list = marks(part)
            async with conn.execute(
                "SELECT c.path, v.kind FROM files_current c JOIN file_versions v"
                " ON v.id = c.version_id"
                f" WHERE c.namespace_id = ? AND c.deleted = 0 AND c.path IN ({in_list})",
                [ns_id, *part],
            ) as cur:
                out.update((str(path), str(kind)) for path, kind in await cur.fetchall())
        return out

    async def live_inside(self, conn: Handle, ns_id: int, folder: str) -> list[str]:
        """The live paths inside a folder, at any depth."""
        async with conn.execute(
            "SELECT path FROM files_current WHERE namespace_id = ? AND deleted = 0"
            " AND path > ? AND path < ?",
            (ns_id, folder + "/", folder + "0"),  # "0" sorts right after "/"
        ) as cur:
            return [str(r[0]) for r in await cur.fetchall()]

    async def live_paths_by_key(
        self, conn: Handle, ns_id: int, keys: Sequence[str]
    ) -> dict[str, set[str]]:
        """The live paths under each of these case-folded keys."""
        out: dict[str, set[str]] = {}
        for part in _chunks(list(dict.fromkeys(keys))):
            in_list = marks(part)
            async with conn.execute(
                "SELECT path_key, path FROM files_current"
                f" WHERE namespace_id = ? AND deleted = 0 AND path_key IN ({in_list})",
                [ns_id, *part],
            ) as cur:
                for key, path in await cur.fetchall():
                    out.setdefault(str(key), set()).add(str(path))
        return out

    async def add_version(
        self,
        tx: Handle,
        version_id: int,
        ns_id: int,
        new: NewVersion,
        user_id: int,
        device_name: str,
        now: int,
    ) -> VersionRecord:
        [version] = await self.add_versions(
            tx, ns_id, [(version_id, new)], user_id, device_name, now
        )
        return version

    async def add_versions(
        self,
        tx: Handle,
        ns_id: int,
        news: Sequence[tuple[int, NewVersion]],
        user_id: int,
        device_name: str,
        now: int,
    ) -> list[VersionRecord]:
        """Append to the journal, in order: the namespace's next seqs, the versions, their
        blocks (each distinct block's refcount + 1 per version), the paths' current pointers.
        A handful of statements whatever the number of versions."""
        if not news:
            return []
        async with tx.execute(
            "UPDATE namespaces SET seq = seq + ? WHERE id = ? RETURNING seq", (len(news), ns_id)
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        first = int(row[0]) - len(news) + 1
        records = [
            VersionRecord(
                vid, ns_id, new.path, first + i, new.kind, new.size, new.mtime_ms, new.deleted,
                new.parent_id, device_name, now, tuple(new.blocks),
            )
            for i, (vid, new) in enumerate(news)
        ]  # fmt: skip
        await tx.executemany(
            "INSERT INTO file_versions (id, namespace_id, path, seq, kind, size, mtime_ms,"
            " deleted, parent_id, user_id, device_name, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    v.id, ns_id, v.path, v.seq, v.kind, v.size, v.mtime_ms, int(v.deleted),
                    v.parent_id, user_id, device_name, now,
                )
                for v in records
            ],
        )  # fmt: skip
        block_rows = [(v.id, i, h) for v in records for i, h in enumerate(v.blocks)]
        if block_rows:
            await tx.executemany(
                "INSERT INTO version_blocks (version_id, idx, hash) VALUES (?, ?, ?)", block_rows
            )
            refs = Counter(h for v in records for h in set(v.blocks))
            await tx.executemany(
                "UPDATE blocks SET refcount = refcount + ? WHERE hash = ?",
                [(n, h) for h, n in refs.items()],
            )
        await tx.executemany(
            "INSERT INTO files_current (namespace_id, path, path_key, version_id, seq, deleted)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace_id, path) DO UPDATE SET"
            " version_id = excluded.version_id, seq = excluded.seq, deleted = excluded.deleted",
            [
                (ns_id, v.path, new.path_key, v.id, v.seq, int(v.deleted))
                for v, (_, new) in zip(records, news, strict=True)
            ],
        )
        return records

    async def changes(self, ns_id: int, since: int, limit: int) -> list[VersionRecord]:
        """The current version of each path changed after `since`, in seq order."""
        async with self._db.reader.execute(
            _V_SELECT + " WHERE id IN (SELECT version_id FROM files_current"
            " WHERE namespace_id = ? AND seq > ? ORDER BY seq LIMIT ?) ORDER BY seq",
            (ns_id, since, limit),
        ) as cur:
            rows = await cur.fetchall()
        return await self._with_blocks(self._db.reader, rows)

    async def live_under(self, conn: Handle, ns_id: int, prefix: str) -> list[VersionRecord]:
        async with conn.execute(
            _V_SELECT + " WHERE id IN (SELECT version_id FROM files_current"
            " WHERE namespace_id = ? AND deleted = 0 AND (path = ? OR substr(path, 1, ?) = ?))"
            " ORDER BY path",
            (ns_id, prefix, len(prefix) + 1, prefix + "/"),
        ) as cur:
            rows = await cur.fetchall()
        return await self._with_blocks(conn, rows)

    async def history(self, ns_id: int, path: str) -> list[VersionRecord]:
        async with self._db.reader.execute(
            _V_SELECT + " WHERE namespace_id = ? AND path = ? ORDER BY id DESC", (ns_id, path)
        ) as cur:
            rows = await cur.fetchall()
        return await self._with_blocks(self._db.reader, rows)

    async def all_versions(self, ns_id: int, after: int | None, limit: int) -> list[VersionRecord]:
        """Every version of a namespace after `after`, oldest first, tombstones included."""
        async with self._db.reader.execute(
            _V_SELECT + " WHERE namespace_id = ? AND id > ? ORDER BY id LIMIT ?",
            (ns_id, after if after is not None else 0, limit),
        ) as cur:
            rows = await cur.fetchall()
        return await self._with_blocks(self._db.reader, rows)

    async def version(self, conn: Handle, ns_id: int, version_id: int) -> VersionRecord | None:
        async with conn.execute(
            _V_SELECT + " WHERE namespace_id = ? AND id = ?", (ns_id, version_id)
        ) as cur:
            rows = await cur.fetchall()
        found = await self._with_blocks(conn, rows)
        return found[0] if found else None

    async def _with_blocks(self, conn: Handle, rows: Iterable[Any]) -> list[VersionRecord]:
        rows = list(rows)
        ids = [int(r[0]) for r in rows]
        blocks: dict[int, list[str]] = {}
        for part in _chunks([str(i) for i in ids]):
            in_list = marks(part)
            async with conn.execute(
                f"SELECT version_id, hash FROM version_blocks WHERE version_id IN ({in_list})"
                " ORDER BY version_id, idx",
                [int(i) for i in part],
            ) as cur:
                for vid, h in await cur.fetchall():
                    blocks.setdefault(int(vid), []).append(str(h))
        return [
            VersionRecord(
                int(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]), int(r[5]), int(r[6]),
                bool(r[7]), None if r[8] is None else int(r[8]), str(r[9]), int(r[10]),
                tuple(blocks.get(int(r[0]), ())),
            )
            for r in rows
        ]  # fmt: skip

    # ------------------------------------------------------------------ blocks
    async def record_upload(
        self, user_id: int, hash_: str, size: int, stored_size: int, now: int
    ) -> None:
        """Record a stored block as uploaded by this user; returns once committed. Uploads
        arriving together share one transaction (a group commit: one fsync for many)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._uploads.append(((user_id, hash_, size, stored_size, now), done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_uploads())
        await done

    async def _flush_uploads(self) -> None:
        while self._uploads:
            batch, self._uploads = self._uploads, []
            blocks = [(h, size, stored, now) for (_, h, size, stored, now), _ in batch]
            uploads = [(user, h, now) for (user, h, _, _, now), _ in batch]
            try:
                if isinstance(self._db, SqliteDatabase):  # one hop to its thread, not four
                    await self._db.transaction_on_thread(
                        functools.partial(_record_uploads, blocks=blocks, uploads=uploads)
                    )
                else:
                    async with self._db.write() as tx:
                        await tx.executemany(RECORD_BLOCKS, blocks)
                        await tx.executemany(RECORD_UPLOADS, uploads)
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def readable_blocks(self, user_id: int, hashes: Sequence[str], conn: Handle) -> set[str]:
        """The hashes this user may use without sending bytes: stored, and either uploaded
        by them, in a version of a namespace they belong to, or in an attachment they may
        read (see `_READABLE_ATTACHMENT`)."""
        found: set[str] = set()
        c = conn
        for part in _chunks(list(dict.fromkeys(hashes))):
            in_list = marks(part)
            sql = (
                f"SELECT b.hash FROM blocks b WHERE b.hash IN ({in_list}) AND ("
                " EXISTS (SELECT 1 FROM block_uploads u WHERE u.hash = b.hash AND u.user_id = ?)"
                " OR EXISTS (SELECT 1 FROM attachment_blocks ab JOIN attachments a"
                f"  ON a.id = ab.attachment_id WHERE ab.hash = b.hash AND {_READABLE_ATTACHMENT})"
                " OR EXISTS (SELECT 1 FROM version_blocks vb JOIN file_versions v"
                "  ON v.id = vb.version_id JOIN namespace_members m"
                "  ON m.namespace_id = v.namespace_id WHERE vb.hash = b.hash AND m.user_id = ?)"
                # a file on its way (files.announce): what its uploader staged and stored
                " OR EXISTS (SELECT 1 FROM staged_blocks sb JOIN announced_uploads an"
                "  ON an.user_id = sb.user_id AND an.upload_id = sb.upload_id"
                "  JOIN namespace_members m ON m.namespace_id = an.namespace_id"
                "  JOIN block_uploads u ON u.hash = sb.hash AND u.user_id = sb.user_id"
                "  WHERE sb.hash = b.hash AND m.user_id = ?))"
            )
            async with c.execute(sql, [*part, user_id, user_id, user_id, user_id]) as cur:
                found.update(str(r[0]) for r in await cur.fetchall())
        return found

    async def is_readable(self, user_id: int, hash_: str) -> bool:
        """`readable_blocks` for one block. A user's checks that arrive together share one
        query (a download keeps several blocks in flight); a check arriving while a query
        runs waits for the next one, so each answer reflects the state after it was asked."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._checks.setdefault(user_id, []).append((hash_, done))
        if self._checker is None or self._checker.done():
            self._checker = asyncio.create_task(self._run_checks())
        return await done

    async def _run_checks(self) -> None:
        while self._checks:
            pending, self._checks = self._checks, {}
            for user_id, wanted in pending.items():
                try:
                    found = await self.readable_blocks(
                        user_id, [h for h, _ in wanted], self._db.reader
                    )
                except Exception as exc:
                    for _, done in wanted:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for h, done in wanted:
                    if not done.done():
                        done.set_result(h in found)

    async def block_sizes(self, conn: Handle, hashes: Sequence[str]) -> dict[str, int]:
        """The raw size of each of these blocks the server holds, as it measured them when it
        verified the upload."""
        out: dict[str, int] = {}
        for part in _chunks(list(dict.fromkeys(hashes))):
            in_list = marks(part)
            async with conn.execute(
                f"SELECT hash, size FROM blocks WHERE hash IN ({in_list})", list(part)
            ) as cur:
                out.update((str(h), int(n)) for h, n in await cur.fetchall())
        return out

    async def settle_uploads(self, tx: Handle, user_id: int, hashes: Iterable[str]) -> None:
        """These uploads of the user's are committed: they stop counting as waiting for a
        commit (their blocks stay readable through what now uses them)."""
        for part in _chunks(list(dict.fromkeys(hashes))):
            in_list = marks(part)
            await tx.execute(
                f"DELETE FROM block_uploads WHERE user_id = ? AND hash IN ({in_list})",
                [user_id, *part],
            )

    async def staged_count(self, tx: Handle, user_id: int, replacing: tuple[str, int, int]) -> int:
        """How many staged rows the user has, not counting the rows that a page
        `replacing` = (upload_id, offset, length) would replace."""
        upload_id, offset, length = replacing
        async with tx.execute(
            "SELECT (SELECT COUNT(*) FROM staged_blocks WHERE user_id = ?)"
            " - (SELECT COUNT(*) FROM staged_blocks WHERE user_id = ? AND upload_id = ?"
            " AND idx >= ? AND idx < ?)",
            (user_id, user_id, upload_id, offset, offset + length),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def stage(
        self,
        tx: Handle,
        user_id: int,
        upload_id: str,
        offset: int,
        hashes: Sequence[str],
        now: int,
    ) -> None:
        await tx.executemany(
            "INSERT INTO staged_blocks (user_id, upload_id, idx, hash, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, upload_id, idx)"
            " DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at",
            [(user_id, upload_id, offset + i, h, now) for i, h in enumerate(hashes)],
        )

    async def take_staged(self, tx: Handle, user_id: int, upload_id: str) -> list[str]:
        async with tx.execute(
            "SELECT hash FROM staged_blocks WHERE user_id = ? AND upload_id = ? ORDER BY idx",
            (user_id, upload_id),
        ) as cur:
            hashes = [str(r[0]) for r in await cur.fetchall()]
        await tx.execute(
            "DELETE FROM staged_blocks WHERE user_id = ? AND upload_id = ?", (user_id, upload_id)
        )
        return hashes

    async def release_version(self, tx: Handle, version_id: int) -> None:
        """Purge an old version: its blocks' refcounts drop; the blocks may then be collected."""
        await self.release_versions(tx, [version_id])

    async def release_versions(self, tx: Handle, version_ids: Sequence[int]) -> None:
        """`release_version` for many, a few set-based statements per 500 versions."""
        for part in _chunks([str(i) for i in version_ids]):
            ids = [int(i) for i in part]
            in_list = marks(ids)
            async with tx.execute(  # each version held a block once however often it repeats
                f"SELECT hash, COUNT(DISTINCT version_id) FROM version_blocks"
                f" WHERE version_id IN ({in_list}) GROUP BY hash",
                ids,
            ) as cur:
                drops = [(int(r[1]), str(r[0])) for r in await cur.fetchall()]
            await tx.executemany("UPDATE blocks SET refcount = refcount - ? WHERE hash = ?", drops)
            await tx.execute(f"DELETE FROM version_blocks WHERE version_id IN ({in_list})", ids)
            await tx.execute(f"DELETE FROM file_versions WHERE id IN ({in_list})", ids)

    async def collectable(self, tx: Handle, older_than: int, limit: int = -1) -> list[str]:
        """Blocks nothing refers to and no recent upload is waiting to commit (at most `limit`
        of them; -1: all); forgotten here, the caller deletes their bytes after the commit."""
        async with tx.execute(
            "SELECT hash FROM blocks WHERE refcount <= 0 AND created_at < ? AND NOT EXISTS"
            " (SELECT 1 FROM attachment_blocks a WHERE a.hash = blocks.hash) LIMIT ?",
            (older_than, limit if limit >= 0 else ALL_ROWS),  # PostgreSQL refuses LIMIT -1
        ) as cur:
            hashes = [str(r[0]) for r in await cur.fetchall()]
        for part in _chunks(hashes):
            in_list = marks(part)
            await tx.execute(f"DELETE FROM block_uploads WHERE hash IN ({in_list})", list(part))
            await tx.execute(f"DELETE FROM blocks WHERE hash IN ({in_list})", list(part))
        return hashes

    async def refcount(self, hash_: str) -> int | None:
        async with self._db.reader.execute(
            "SELECT refcount FROM blocks WHERE hash = ?", (hash_,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    # ------------------------------------------------------------------ attachments
    async def add_attachment(
        self,
        tx: Handle,
        attachment_id: int,
        owner_id: int,
        name: str,
        size: int,
        blocks: Sequence[str],
        now: int,
    ) -> None:
        await tx.execute(
            "INSERT INTO attachments (id, owner_id, name, size, created_at) VALUES (?, ?, ?, ?, ?)",
            (attachment_id, owner_id, name, size, now),
        )
        await tx.executemany(
            "INSERT INTO attachment_blocks (attachment_id, idx, hash) VALUES (?, ?, ?)",
            [(attachment_id, i, h) for i, h in enumerate(blocks)],
        )
        await tx.executemany(
            "UPDATE blocks SET refcount = refcount + 1 WHERE hash = ?", [(h,) for h in set(blocks)]
        )

    async def attachment(
        self,
        attachment_id: int,
        conn: Handle,
        *,
        reader_id: int | None = None,
    ) -> AttachmentRecord | None:
        """One attachment; with `reader_id`, only if that user may read it."""
        c = conn
        sql = (
            "SELECT a.id, a.owner_id, u.username, a.name, a.size, a.created_at FROM attachments a"
            " JOIN users u ON u.id = a.owner_id WHERE a.id = ?"
        )
        params: list[int] = [attachment_id]
        if reader_id is not None:
            sql += f" AND {_READABLE_ATTACHMENT}"
            params.append(reader_id)
        async with c.execute(sql, params) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        async with c.execute(
            "SELECT hash FROM attachment_blocks WHERE attachment_id = ? ORDER BY idx",
            (attachment_id,),
        ) as cur:
            blocks = tuple(str(r[0]) for r in await cur.fetchall())
        return AttachmentRecord(
            int(row[0]), int(row[1]), str(row[2]), str(row[3]), int(row[4]), int(row[5]), blocks
        )


# A re-upload restarts the block's grace period of gc, and its wait for a commit.
RECORD_BLOCKS = (
    "INSERT INTO blocks (hash, size, stored_size, created_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (hash) DO UPDATE SET created_at = excluded.created_at"
)
RECORD_UPLOADS = (
    "INSERT INTO block_uploads (user_id, hash, created_at) VALUES (?, ?, ?)"
    " ON CONFLICT (user_id, hash) DO UPDATE SET created_at = excluded.created_at"
)


def _record_uploads(
    tx: sqlite3.Connection,
    blocks: list[tuple[str, int, int, int]],
    uploads: list[tuple[int, str, int]],
) -> None:
    tx.executemany(RECORD_BLOCKS, blocks)
    tx.executemany(RECORD_UPLOADS, uploads)
