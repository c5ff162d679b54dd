"""Selective sync: the folders of the workspace this device keeps (`roost sync exclude` /
`include`). An excluded folder is the sync index's `sync_excluded` row plus the ignore rule
that reads it (`Ignore.excluded`): the engine neither fetches it nor uploads it, and its
absence here is never taken for a deletion. Excluding removes it from this disk only, once
every file in it is on the server as it is here (else it is refused, naming the file);
including fetches it back.

Files put into an excluded folder on this device stay here, unsynced, reported each pass
(`excluded_notes`)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from client.errors import ClientError
from client.files import normalize
from client.sync.engine import PassReport, SyncEngine
from client.sync.ignore import excluded_by
from storage.client.sync_index import LocalRow, SyncedRow, SyncIndex

if TYPE_CHECKING:
    from client.core import RoostClient


def workspace_path(text: str, root: Path, cwd: Path | None = None) -> str:
    """A folder as a person names it: a path on this disk inside the workspace (absolute, or
    relative to where they are), else a path in the workspace ("Photos/2024")."""
    raw = Path(text).expanduser()
    here = (raw if raw.is_absolute() else (cwd or Path.cwd()) / raw).resolve()
    inside = here == root or root in here.parents
    if inside and (raw.is_absolute() or here.exists()):
        rel = here.relative_to(root).as_posix()
        return "" if rel == "." else rel
    if raw.is_absolute():
        raise ClientError(f"{text} is not inside the synced folder {root}")
    return normalize(text)


@dataclass(frozen=True)
class Where:
    namespace_id: str
    path: str  # in the namespace ("" for a share's own folder)


async def _where(engine: SyncEngine, folder: str) -> Where:
    mounts = await engine.index.mounts()
    top, _, rest = folder.partition("/")
    for ns_id, mounted in mounts.items():
        if mounted == top:
            return Where(ns_id, rest)
    homes = await engine.index.namespaces_known() - set(mounts)
    if not homes:
        raise ClientError("this device has not synced yet: run roost sync DIR first")
    return Where(next(iter(homes)), folder)


def _unsynced(
    engine: SyncEngine, folder: str, where: Where, local: dict[str, LocalRow],
    synced: dict[str, SyncedRow],
) -> list[str]:  # fmt: skip
    """Files under `folder` whose content here is not the version the server has."""
    out: list[str] = []
    base = engine.root / folder
    for dirpath, dirs, files in os.walk(base):
        for name in files + [d for d in dirs if (Path(dirpath) / d).is_symlink()]:
            path = Path(dirpath) / name
            rel = path.relative_to(engine.root).as_posix()
            ns_path = where.path + rel[len(folder) :] if where.path else rel[len(folder) + 1 :]
            row, st = local.get(rel), path.lstat()
            s = synced.get(ns_path)
            same = (
                row is not None
                and (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns)
                and s is not None
                and not s.deleted
                and s.blocks == tuple(h for h, _ in row.chunks)
            )
            if not same:
                out.append(rel)
    return sorted(out)


async def exclude(engine: SyncEngine, folder: str) -> PassReport:
    """Sync once (edits in the folder go up first), then remove the folder from this disk
    and keep it off. ClientError, changing nothing, when a file in it is not on the server."""
    if not folder:
        raise ClientError("name a folder inside the synced folder, not the whole of it")
    async with engine.running():
        excluded = await engine.index.excluded()
        if (outer := excluded_by(folder, excluded)) is not None:
            raise ClientError(f"{folder} is already excluded on this device ({outer})")
        report = await engine.run_once()
        where = await _where(engine, folder)
        remote = (await engine.index.remote(where.namespace_id)).get(where.path)
        is_share = where.path == ""
        if not is_share and (remote is None or remote.deleted):
            raise ClientError(f"no folder {folder!r} in your synced files")
        if not is_share and remote is not None and remote.kind != "dir":
            raise ClientError(f"{folder} is a file: exclude works on folders")
        local = await engine.index.local_rows()
        synced = await engine.index.synced(where.namespace_id)
        if unsynced := _unsynced(engine, folder, where, local, synced):
            more = f" and {len(unsynced) - 1} more" if len(unsynced) > 1 else ""
            raise ClientError(
                f"{unsynced[0]}{more} not on the server as it is here (only on this device,"
                f" ignored, or still changing): move it out of {folder} or sync it, then exclude"
            )
        for inner in {e for e in excluded if excluded_by(e, {folder})}:
            await engine.index.set_excluded(inner, False)  # the new one covers them
        await engine.index.set_excluded(folder, True)  # first: a crash leaves it ignored
        _remove(engine.root / folder, local, engine.root)
        await engine.index.forget_under(where.namespace_id, where.path, folder)
        return report


def _remove(base: Path, local: dict[str, LocalRow], root: Path) -> None:
    """Delete the folder's files bottom-up, each only if it is still as it was checked (a
    file written meanwhile stays, and the folder with it)."""
    for dirpath, dirs, files in os.walk(base, topdown=False):
        for name in files:
            path = Path(dirpath) / name
            row = local.get(path.relative_to(root).as_posix())
            st = path.lstat()
            if row is not None and (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns):
                path.unlink()
        for name in dirs:
            with contextlib.suppress(OSError):
                (Path(dirpath) / name).rmdir()
    with contextlib.suppress(OSError):
        base.rmdir()


async def include(engine: SyncEngine, folder: str) -> PassReport:
    """Sync the folder again on this device: it is fetched whole."""
    async with engine.running():
        excluded = await engine.index.excluded()
        if folder not in excluded:
            outer = excluded_by(folder, excluded)
            if outer is not None:
                raise ClientError(f"{folder} is inside {outer}, which is excluded: include {outer}")
            raise ClientError(f"{folder or 'that'} is not excluded on this device")
        where = await _where(engine, folder)
        await engine.index.forget_under(where.namespace_id, where.path, folder)
        await engine.index.set_excluded(folder, False)
        return await engine.run_once()


async def excluded_folders(client: RoostClient) -> set[str]:
    """The folders this device keeps off its disk (for `roost sync status`)."""
    return await SyncIndex(client.database).excluded()
