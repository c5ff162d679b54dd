"""The file commands people expect, without a workspace: remove, make a folder, print a file,
move or rename (its history kept, `files.move`), and get or put a whole folder. Over
`RemoteFiles`; every local path written is checked first, so a refusal leaves nothing half
done."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from client.core import Written
from client.errors import ClientError
from client.files import Located, RemoteFiles, local_name, refuse_overwrite
from client.limits import (
    entries_problem,
    fetch_usage,
    quota_problem,
    upload_group_bytes,
    upload_problem,
)
from client.sync.ignore import MARKER, Ignore
from client.sync.scan import hash_file
from client.sync.transfer import Received, sources_of
from protocol import files as wire

FETCH_AHEAD = 8  # blocks of `cat` in flight: the next arrive while one is written

OnBytes = Callable[[int], None]  # progress: bytes moved since the last call


@dataclass(frozen=True)
class TreeFile:
    """One file of a folder being fetched or sent: where it is on each side, how big."""

    remote: str  # inside the namespace
    local: Path
    size: int
    entry: wire.Entry | None = None  # when fetched


def _plural(n: int, one: str) -> str:
    return f"{n} {one}{'' if n == 1 else 's'}"


class FileCommands:
    def __init__(self, files: RemoteFiles) -> None:
        self.files = files

    # ------------------------------------------------------------------ rm, mkdir, mv
    async def remove(self, path: str, *, recursive: bool = False) -> list[str]:
        """Delete a file, or a folder with everything in it (`recursive`): restorable from
        its history. Returns the paths deleted, as the workspace shows them."""
        where = await self.files.locate_inside(path)
        live = await self._live_under(where)
        if not live:
            raise ClientError(f"no file or folder {path!r}")
        self._writable(where)
        top = next((e for e in live if e.path == where.path), None)
        if (top is None or top.kind == "dir") and not recursive:
            count = len([e for e in live if e.path != where.path])
            raise ClientError(
                f"{path!r} is a folder ({_plural(count, 'item')} in it): add -r to remove it"
                " with everything in it"
            )
        items = [
            wire.CommitItem(e.path, e.version_id, wire.Kind(e.kind), deleted=True)
            for e in sorted(live, key=lambda e: e.path, reverse=True)  # a folder once empty
        ]
        await self._commit(where, items)
        return [where.shown(e.path) for e in sorted(live, key=lambda e: e.path)]

    async def make_folder(self, path: str) -> wire.Entry:
        """A new, empty folder (and the folders above it)."""
        where = await self.files.locate_inside(path)
        self._writable(where)
        current = await self.files.current(where)
        if current is not None and not current.deleted:
            what = "folder" if current.kind == "dir" else "file"
            raise ClientError(f"{path!r} exists (a {what})")
        item = wire.CommitItem(where.path, current.version_id if current else None, wire.Kind.DIR)
        [entry] = await self._commit(where, [item])
        return entry

    async def move(self, src: str, dst: str) -> list[wire.Entry]:
        """Rename or move a file or folder inside one namespace (your files, or one share);
        into a folder when `dst` is one, as mv does. Its history goes with it."""
        where = await self.files.locate_inside(src)
        self._writable(where)
        target = await self.files.locate(dst)
        if target.namespace.id != where.namespace.id:
            raise ClientError(
                f"{src!r} and {dst!r} are in different places (your files, a shared folder):"
                " move inside one, or get and put the file"
            )
        to = target.path
        if to == where.path:  # the same name, perhaps typed in another Unicode form
            raise ClientError(f"{src!r} is already there")
        into = await self.files.current(target) if to else None
        if not to or (into is not None and not into.deleted and into.kind == "dir"):
            to = f"{to}/{where.path.rpartition('/')[2]}" if to else where.path.rpartition("/")[2]
        if to == where.path:
            raise ClientError(f"{src!r} is already there")
        moved: wire.Moved = await self._write(
            "files.move", wire.Move(where.namespace.id, where.path, to)
        )
        return moved.entries

    # ------------------------------------------------------------------ cat
    async def cat(self, path: str, write: Callable[[Received], object]) -> wire.Entry:
        """Hand a file's bytes to `write` in order, a few blocks fetched ahead."""
        entry = await self._file(path)
        transfer = await self.files.transfer()
        pending: deque[asyncio.Task[Received]] = deque()
        try:
            for h in entry.blocks:
                pending.append(asyncio.create_task(transfer.fetch_small(h, entry.size)))
                if len(pending) >= FETCH_AHEAD:
                    write(await pending.popleft())
            while pending:
                write(await pending.popleft())
        finally:
            for task in pending:
                task.cancel()
        return entry

    # ------------------------------------------------------------------ folders
    async def plan_get(self, path: str, out: Path, *, force: bool = False) -> list[TreeFile]:
        """The files a folder's download writes, under `out/NAME` (or into `out` itself
        when it does not exist yet, as cp -r does). Each name is made safe (`local_name`: no
        dotfiles, nothing outside the target); existing files are refused without `force`,
        all checked before anything is written."""
        where = await self.files.locate(path)
        live = await self._live_under(where)
        files = [e for e in live if e.kind == "file"]
        if not live or (where.path and not any(e.path != where.path for e in live)):
            if any(e.path == where.path and e.kind == "file" for e in live):
                raise ClientError(f"{path!r} is a file: roost files get {path} works without -r")
            raise ClientError(f"no folder {path!r}")
        name = where.shown(where.path).rstrip("/").rpartition("/")[2] or "roost"
        base = out if not out.exists() else out / local_name(name)
        plan: list[TreeFile] = []
        taken: set[Path] = set()
        for e in sorted(files, key=lambda e: e.path):
            inner = e.path[len(where.path) :].lstrip("/") if where.path else e.path
            local = base.joinpath(*(local_name(part) for part in inner.split("/")))
            if local in taken:
                raise ClientError(f"two files would both be saved as {local}; get them one by one")
            taken.add(local)
            plan.append(TreeFile(e.path, local, e.size, e))
        refuse_overwrite([t.local for t in plan], force)
        for t in plan:  # a file where a folder must go is never replaced, --force or not
            for parent in t.local.parents:
                if parent == base.parent:
                    break
                if parent.exists() and not parent.is_dir():
                    raise ClientError(f"{parent} is a file where a folder must go")
        return plan

    async def get_folder(self, plan: list[TreeFile], on_bytes: OnBytes | None = None) -> None:
        transfer = await self.files.transfer()
        transfer.on_block = (lambda _h, n: on_bytes(n)) if on_bytes else None
        for t in plan:
            assert t.entry is not None
            t.local.parent.mkdir(parents=True, exist_ok=True)
            await transfer.download(t.entry.blocks, t.local, mtime_ms=t.entry.mtime_ms, size=t.size)

    def plan_put(self, local: Path, path: str | None) -> tuple[str, list[Path], list[Path]]:
        """Where a local folder goes (PATH, or its name at the top) and what it holds:
        its folders and files, other programs' temp files and Roost's own left out."""
        if not local.is_dir():
            raise ClientError(f"{local} is not a folder")
        ignore = Ignore(local)  # its .roostignore, if it has one, and the defaults
        folders: list[Path] = []
        files: list[Path] = []
        for parent, dirs, names in os.walk(local):
            here = Path(parent)
            rel = here.relative_to(local).as_posix()
            rel = "" if rel == "." else rel + "/"
            dirs[:] = sorted(d for d in dirs if not ignore.ignored(rel + d, is_dir=True))
            folders += [here / d for d in dirs if not (here / d).is_symlink()]
            files += [
                here / n
                for n in sorted(names)
                if not ignore.ignored(rel + n) and (here / n).is_file()
                and not (here / n).is_symlink() and n not in (MARKER,)
            ]  # fmt: skip
        target = (path or "").strip().strip("/") or local.resolve().name
        return target, folders, files

    async def put_folder(
        self, local: Path, path: str | None, on_bytes: OnBytes | None = None
    ) -> list[wire.Entry]:
        """Upload a folder with everything in it as new versions (only missing blocks travel),
        committed together."""
        target, folders, files = self.plan_put(local, path)
        where = await self.files.locate(target)
        if not where.path:
            where = Located(where.namespace, local.resolve().name)
        self._writable(where)
        before = {e.path: e for e in await self.files.entries(where.namespace)}

        def remote(p: Path) -> str:
            inner = p.relative_to(local).as_posix()
            return f"{where.path}/{inner}" if inner != "." else where.path

        def parent_of(rel: str) -> str | None:
            e = before.get(wire.validate_path(rel))
            return e.version_id if e else None

        items: list[wire.CommitItem] = []
        top = before.get(wire.validate_path(where.path))
        if top is None or top.deleted or top.kind != "dir":
            items.append(wire.CommitItem(where.path, parent_of(where.path), wire.Kind.DIR))
        for folder in folders:
            rel = remote(folder)
            e = before.get(wire.validate_path(rel))
            if e is None or e.deleted or e.kind != "dir":
                items.append(wire.CommitItem(rel, parent_of(rel), wire.Kind.DIR))
        transfer = await self.files.transfer()
        transfer.on_block = (lambda _h, n: on_bytes(n)) if on_bytes else None
        usage = await fetch_usage(self.files.client.call)
        for f in files:
            if problem := upload_problem(str(f), f.stat().st_size, usage):
                raise ClientError(problem)
        total = sum(f.stat().st_size for f in files)
        if where.namespace.kind == "home" and (
            problem := quota_problem(total, usage)
            or entries_problem(usage, len(files) + len(folders) + 1)
        ):
            raise ClientError(problem)  # before a byte is sent: the commit would be refused
        # The server lets only so much wait for a commit: a large folder commits as it goes.
        budget = upload_group_bytes(usage)
        done: list[wire.Entry] = []
        waiting = 0
        for f in files:
            chunks = await asyncio.to_thread(hash_file, f)
            if await transfer.upload(None, sources_of(f, chunks)):
                raise ClientError(f"{f} changed while it was being sent; try again")
            rel = remote(f)
            size = sum(n for _, n in chunks)
            items.append(
                wire.CommitItem(
                    rel,
                    parent_of(rel),
                    size=size,
                    mtime_ms=int(f.stat().st_mtime * 1000),
                    blocks=[h for h, _ in chunks],
                )
            )
            waiting += size
            if budget is not None and waiting >= budget:
                done += await self._commit(where, items)
                items, waiting = [], 0
        return done + (await self._commit(where, items) if items else [])

    # ------------------------------------------------------------------ helpers
    async def _file(self, path: str) -> wire.Entry:
        where = await self.files.locate_inside(path)
        entry = await self.files.current(where)
        if entry is None or entry.deleted:
            raise ClientError(f"no file {path!r} (see roost files history)")
        if entry.kind == "dir":
            raise ClientError(f"{path!r} is a folder: roost files ls {path}")
        return entry

    async def _live_under(self, where: Located) -> list[wire.Entry]:
        """The live entries at and under `where`; in the home, none under a shared folder's
        name (what was there before it was shared: the share holds those paths now)."""
        prefix = where.path + "/" if where.path else ""
        shares: set[str] = set()
        if where.namespace.kind == "home":
            shares = {ns.name for ns in await self.files.namespaces() if ns.kind == "shared"}
        return [
            e
            for e in await self.files.entries(where.namespace)
            if not e.deleted
            and (e.path == where.path or e.path.startswith(prefix))
            and e.path.partition("/")[0] not in shares
        ]

    @staticmethod
    def _writable(where: Located) -> None:
        if where.namespace.role == wire.Role.VIEWER:
            raise ClientError(f"you are a viewer of {where.namespace.name!r}; it is read-only")

    async def _commit(self, where: Located, items: list[wire.CommitItem]) -> list[wire.Entry]:
        outcomes = await (await self.files.transfer()).commit(where.namespace.id, items)
        for item, outcome in zip(items, outcomes, strict=True):
            if outcome.entry is None:
                raise ClientError(
                    f"{where.shown(item.path)}: {outcome.message or outcome.code or 'refused'}"
                )
        return [o.entry for o in outcomes if o.entry is not None]

    async def _write(self, op: str, args: msgspec.Struct) -> wire.Moved:
        written: Written[wire.Moved] = await self.files.client.write(op, args)
        if written.result is None:
            raise ClientError(f"the server is unreachable; {op} was queued")
        return written.result
