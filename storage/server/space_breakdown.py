"""What a user's storage holds, broken down for `roost usage`: the current files, the old
versions kept beside them, and attachments; each as people count it (the files' own sizes)
and as the server stores it (identical content once per namespace: a block held by two files
or two versions of one folder is kept once). Read on request only: these are scans of the
user's versions, not the running totals a quota check reads (storage.server.space)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Handle


@dataclass(frozen=True, slots=True)
class SpaceBreakdown:
    current_files: int
    current_bytes: int  # their sizes added up
    current_stored: int  # their content, each block once per namespace
    old_versions: int  # kept versions that are not current (deletions and folders too)
    old_bytes: int  # their sizes added up
    old_stored: int  # content only old versions hold (beyond what current files hold)
    attachments: int
    attachment_bytes: int


_OWNED = "JOIN namespaces n ON n.id = {t}.namespace_id WHERE n.owner_id = ?"


async def _one(conn: Handle, sql: str, user_id: int) -> tuple[int, int]:
    async with conn.execute(sql, (user_id,)) as cur:
        row = await cur.fetchone()
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


async def _stored(conn: Handle, user_id: int, *, current_only: bool) -> int:
    versions = (
        "SELECT c.namespace_id, c.version_id FROM files_current c "
        + _OWNED.format(t="c")
        + " AND c.deleted = 0"
        if current_only
        else "SELECT v.namespace_id, v.id AS version_id FROM file_versions v "
        + _OWNED.format(t="v")
    )
    sql = (
        "SELECT 0, COALESCE(SUM(b.size), 0) FROM (SELECT DISTINCT x.namespace_id, vb.hash"
        f" FROM ({versions}) x JOIN version_blocks vb ON vb.version_id = x.version_id) d"
        " JOIN blocks b ON b.hash = d.hash"
    )
    return (await _one(conn, sql, user_id))[1]


async def space_breakdown(conn: Handle, user_id: int) -> SpaceBreakdown:
    current = await _one(
        conn,
        "SELECT COUNT(*), COALESCE(SUM(v.size), 0) FROM files_current c"
        " JOIN file_versions v ON v.id = c.version_id "
        + _OWNED.format(t="c")
        + " AND c.deleted = 0 AND v.kind = 'file'",
        user_id,
    )
    old = await _one(
        conn,
        "SELECT COUNT(*), COALESCE(SUM(v.size), 0) FROM file_versions v "
        + _OWNED.format(t="v")
        + " AND NOT EXISTS (SELECT 1 FROM files_current c WHERE c.namespace_id = v.namespace_id"
        " AND c.path = v.path AND c.version_id = v.id)",  # by its primary key
        user_id,
    )
    current_stored = await _stored(conn, user_id, current_only=True)
    all_stored = await _stored(conn, user_id, current_only=False)
    attached = await _one(
        conn, "SELECT attachments, attachment_bytes FROM user_use WHERE user_id = ?", user_id
    )
    return SpaceBreakdown(
        current[0], current[1], current_stored, old[0], old[1],
        all_stored - current_stored, attached[0], attached[1],
    )  # fmt: skip
