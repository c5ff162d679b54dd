"""Where a moved path came from: one row per version a `files.move` made at a new path,
naming the path and version it continues. Read to follow a file's history across renames."""

from __future__ import annotations

from collections.abc import Sequence

from storage.database import Handle, marks
from storage.server.files import FileRepository, VersionRecord

MAX_MOVES_FOLLOWED = 32  # renames a history goes back through (a loop of renames ends too)


async def record_moves(tx: Handle, ns_id: int, moves: Sequence[tuple[int, str, int]]) -> None:
    """(new version id, the path it moved from, the version there it continues)."""
    for version_id, from_path, from_version_id in moves:
        await tx.execute(
            "INSERT INTO file_moves (version_id, namespace_id, from_path, from_version_id)"
            " VALUES (?, ?, ?, ?)",
            (version_id, ns_id, from_path, from_version_id),
        )


async def moved_from(
    conn: Handle, ns_id: int, version_ids: Sequence[int]
) -> dict[int, tuple[str, int]]:
    """For those of these versions a move made: version id -> (old path, old version id)."""
    ids = list(dict.fromkeys(version_ids))
    out: dict[int, tuple[str, int]] = {}
    for i in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        part = ids[i : i + 500]
        async with conn.execute(
            "SELECT version_id, from_path, from_version_id FROM file_moves"
            f" WHERE namespace_id = ? AND version_id IN ({marks(part)})",
            [ns_id, *part],
        ) as cur:
            out.update({int(v): (str(p), int(f)) for v, p, f in await cur.fetchall()})
    return out


async def history_through_moves(
    files: FileRepository, conn: Handle, ns_id: int, path: str
) -> list[VersionRecord]:
    """Every version of `path`, newest first; before the latest move that brought something
    to it, those of the path it came from (up to the version moved), and so on back."""
    found = await files.history(ns_id, path)
    out = list(found)
    for _ in range(MAX_MOVES_FOLLOWED):
        origins = await moved_from(conn, ns_id, [v.id for v in found])
        if not origins:
            break
        from_path, from_version = origins[max(origins)]
        found = [v for v in await files.history(ns_id, from_path) if v.id <= from_version]
        out += found
    unique = {v.id: v for v in out}
    return sorted(unique.values(), key=lambda v: -v.id)
