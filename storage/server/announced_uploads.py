"""Files on their way (`files.announce`): which staged upload is bound for which path of which
namespace, so the namespace's members may fetch its stored blocks before the commit (the read
rule is in `FileRepository.readable_blocks`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.database import Handle


@dataclass(frozen=True, slots=True)
class Announced:
    upload_id: str
    namespace_id: int
    path: str


async def announce(
    tx: Handle, user_id: int, upload_id: str, namespace_id: int, path: str, now: int
) -> None:
    """Bind the upload to a path; announcing it again moves it (same uploader only)."""
    await tx.execute(
        "INSERT INTO announced_uploads (user_id, upload_id, namespace_id, path, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, upload_id) DO UPDATE SET"
        " namespace_id = excluded.namespace_id, path = excluded.path",
        (user_id, upload_id, namespace_id, path, now),
    )


async def open_count(conn: Handle, user_id: int) -> int:
    async with conn.execute(
        "SELECT COUNT(*) FROM announced_uploads WHERE user_id = ?", (user_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def find(conn: Handle, user_id: int, upload_id: str) -> Announced | None:
    async with conn.execute(
        "SELECT namespace_id, path FROM announced_uploads WHERE user_id = ? AND upload_id = ?",
        (user_id, upload_id),
    ) as cur:
        row = await cur.fetchone()
    return Announced(upload_id, int(row[0]), str(row[1])) if row else None


async def withdraw(tx: Handle, user_id: int, upload_ids: Sequence[str]) -> list[Announced]:
    """Forget these announcements of the user's; the ones there were."""
    gone: list[Announced] = []
    for upload_id in dict.fromkeys(upload_ids):
        found = await find(tx, user_id, upload_id)
        if found is not None:
            await tx.execute(
                "DELETE FROM announced_uploads WHERE user_id = ? AND upload_id = ?",
                (user_id, upload_id),
            )
            gone.append(found)
    return gone
