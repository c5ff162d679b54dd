"""Public links: a row per link (its token only as a SHA-256), the one version it hands out,
who made it, when it expires and its password's argon2 hash. All SQL for links lives here.

A link serves only while its maker may still make it: a member whose role drops to viewer, or
who leaves the share, takes their links down with it (the lookup joins the membership).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.database import Database, Handle

MAKER_ROLES = ("owner", "editor")  # who may make links of a namespace's files, and keep them


@dataclass(frozen=True, slots=True)
class LinkRecord:
    id: int
    namespace_id: int
    version_id: int
    path: str
    created_by: int
    created_at: int
    expires_at: int | None
    has_password: bool
    size: int


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a download needs: the version's bytes (block hashes in order) and the check."""

    link_id: int
    version_id: int
    path: str
    size: int
    mtime_ms: int
    password_hash: str | None
    blocks: tuple[tuple[str, int], ...]  # (hash, raw size) in file order


_SELECT = (
    "SELECT l.id, l.namespace_id, l.version_id, l.path, l.created_by, l.created_at,"
    " l.expires_at, l.password_hash IS NOT NULL, v.size FROM file_links l"
    " JOIN file_versions v ON v.id = l.version_id"
)


class LinkRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        tx: Handle,
        *,
        link_id: int,
        token_hash: str,
        namespace_id: int,
        version_id: int,
        path: str,
        created_by: int,
        created_at: int,
        expires_at: int | None,
        password_hash: str | None,
    ) -> None:
        await tx.execute(
            "INSERT INTO file_links (id, token_hash, namespace_id, version_id, path, created_by,"
            " created_at, expires_at, password_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (link_id, token_hash, namespace_id, version_id, path, created_by, created_at,
             expires_at, password_hash),
        )  # fmt: skip

    async def made_by(self, conn: Handle, user_id: int, limit: int) -> list[LinkRecord]:
        """The user's links, newest first (expired ones too, until removed)."""
        async with conn.execute(
            _SELECT + " WHERE l.created_by = ? ORDER BY l.id DESC LIMIT ?", (user_id, limit)
        ) as cur:
            return [_record(row) for row in await cur.fetchall()]

    async def by_token(self, conn: Handle, token_hash: str) -> LinkRecord | None:
        async with conn.execute(_SELECT + " WHERE l.token_hash = ?", (token_hash,)) as cur:
            row = await cur.fetchone()
        return _record(row) if row else None

    async def by_id(self, conn: Handle, link_id: int) -> LinkRecord | None:
        async with conn.execute(_SELECT + " WHERE l.id = ?", (link_id,)) as cur:
            row = await cur.fetchone()
        return _record(row) if row else None

    async def remove(self, tx: Handle, link_id: int) -> bool:
        cur = await tx.execute("DELETE FROM file_links WHERE id = ?", (link_id,))
        return cur.rowcount > 0

    async def target(self, token_hash: str, now: int) -> LinkTarget | None:
        """The version a live link hands out: None when there is no such link, it expired,
        its version is gone, or its maker is no longer an owner or editor of the share."""
        conn = self._db.reader
        async with conn.execute(
            "SELECT l.id, v.id, l.path, v.size, v.mtime_ms, l.password_hash FROM file_links l"
            " JOIN file_versions v ON v.id = l.version_id AND v.namespace_id = l.namespace_id"
            " JOIN namespace_members m ON m.namespace_id = l.namespace_id"
            " AND m.user_id = l.created_by"
            " WHERE l.token_hash = ? AND (l.expires_at IS NULL OR l.expires_at > ?)"
            " AND m.role IN (?, ?) AND v.deleted = 0",
            (token_hash, now, *MAKER_ROLES),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        async with conn.execute(
            "SELECT vb.hash, b.size FROM version_blocks vb JOIN blocks b ON b.hash = vb.hash"
            " WHERE vb.version_id = ? ORDER BY vb.idx",
            (int(row[1]),),
        ) as cur:
            blocks = tuple((str(h), int(n)) for h, n in await cur.fetchall())
        return LinkTarget(
            int(row[0]), int(row[1]), str(row[2]), int(row[3]), int(row[4]),
            None if row[5] is None else str(row[5]), blocks,
        )  # fmt: skip


def _record(row: Any) -> LinkRecord:
    return LinkRecord(
        int(row[0]), int(row[1]), int(row[2]), str(row[3]), int(row[4]),
        int(row[5]), None if row[6] is None else int(row[6]), bool(row[7]), int(row[8]),
    )  # fmt: skip
