"""The conflict inbox (`roost conflicts`): every conflicted copy in your files, beside the file
it is a copy of, and resolving one *everywhere*.

It works on the server's files, not one device's folder: a copy every device has synced is
resolved by ordinary commits (delete the copy, write its content over the file, or give it a
name of its own), which every device's next sync applies. No new op.

"mine" is the conflicted copy (the edit that lost the race, made on the device its name
says); "theirs" is what is at the file's own path now."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from client.errors import ClientError
from client.file_commands import FileCommands
from client.files import Located, RemoteFiles, locate_in
from client.sync.conflicts import CopyName, parse_copy_name
from protocol import files as wire

DIFF_LIMIT = 4 << 20  # a text diff past this is not something a person reads
Keep = Literal["mine", "theirs", "both"]


@dataclass(frozen=True)
class Conflict:
    copy_path: str  # as the workspace shows it
    copy: wire.Entry
    name: CopyName
    original: wire.Entry | None  # None when the file itself is gone (deleted since)

    @property
    def path(self) -> str:
        return self.name.original


def conflicts_in(rows: list[tuple[str, wire.Entry]]) -> list[Conflict]:
    """The live conflicted copies among listed (workspace path, entry) rows, with the live
    file each is a copy of."""
    live = {p: e for p, e in rows if not e.deleted}
    found = []
    for shown, e in sorted(live.items()):
        if e.kind != "file" or (name := parse_copy_name(shown)) is None:
            continue
        original = live.get(name.original)
        found.append(
            Conflict(shown, e, name, original if original and original.kind == "file" else None)
        )
    return found


def pick(conflicts: list[Conflict], path: str) -> Conflict:
    """The conflict PATH names: a conflicted copy's path, or the file's when it has one copy."""
    path = path.strip().strip("/")
    for c in conflicts:
        if c.copy_path == path:
            return c
    of = [c for c in conflicts if c.path == path]
    if len(of) == 1:
        return of[0]
    if of:
        names = "; ".join(c.copy_path for c in of)
        raise ClientError(f"{path} has {len(of)} conflicted copies: name one ({names})")
    raise ClientError(f"no conflicted copy {path!r} (roost conflicts lists them)")


def text_diff(c: Conflict, theirs: bytes | None, mine: bytes) -> str:
    """A unified diff from the file (theirs) to the copy (mine), or one line when either is
    not text."""

    def text(data: bytes) -> str | None:
        if b"\0" in data:
            return None
        try:
            return data.decode()
        except UnicodeDecodeError:
            return None

    a, b = text(theirs or b""), text(mine)
    if a is None or b is None:
        return f"binary files differ: {c.path} and {c.copy_path}\n"
    lines = difflib.unified_diff(
        a.splitlines(keepends=True),
        b.splitlines(keepends=True),
        fromfile=f"{c.path} (theirs{'' if theirs is not None else ': deleted'})",
        tofile=f"{c.copy_path} (mine)",
    )
    out = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return out or f"{c.path} and its copy hold the same text\n"


class ConflictInbox:
    def __init__(self, files: RemoteFiles) -> None:
        self.files = files
        self.commands = FileCommands(files)

    async def all(self) -> list[Conflict]:
        listing = await self.files.listing()
        return conflicts_in(listing.entries)

    async def find(self, path: str) -> Conflict:
        return pick(await self.all(), path)

    async def _bytes(self, path: str, size: int) -> bytes:
        if size > DIFF_LIMIT:
            raise ClientError(f"{path} is too large to diff ({size} bytes): roost files get both")
        parts: list[bytes] = []
        await self.commands.cat(path, lambda data: parts.append(bytes(data)))
        return b"".join(parts)

    async def diff(self, path: str) -> str:
        return await self.diff_of(await self.find(path))

    async def diff_of(self, c: Conflict) -> str:
        mine = await self._bytes(c.copy_path, c.copy.size)
        theirs = await self._bytes(c.path, c.original.size) if c.original else None
        return text_diff(c, theirs, mine)

    async def keep(self, path: str, keep: Keep) -> Conflict:
        """Resolve one conflict on the server (so on every device at its next sync):
        theirs deletes the copy; mine writes the copy's content at the file's path, then
        deletes the copy; both gives the copy a plain name of its own."""
        c = await self.find(path)
        where = await self._located(c.copy_path)
        if where.namespace.role == wire.Role.VIEWER:
            raise ClientError(f"you are a viewer of {where.namespace.name!r}; it is read-only")
        drop = wire.CommitItem(where.path, c.copy.version_id, wire.Kind.FILE, deleted=True)
        if keep == "theirs":
            await self._commit(where, [drop])
        elif keep == "mine":
            target = await self._located(c.path)
            current = await self.files.current(target)
            write = wire.CommitItem(
                target.path,
                current.version_id if current else None,
                wire.Kind.FILE,
                c.copy.size,
                c.copy.mtime_ms,
                blocks=list(c.copy.blocks),
            )
            await self._commit(where, [write])
            await self._commit(where, [drop])
        else:
            await self.commands.move(c.copy_path, await self._own_name(c))
        return c

    async def _own_name(self, c: Conflict) -> str:
        """`notes (laptop).txt`: the copy's new name, free in its folder."""
        listing = await self.files.listing()
        taken = {p for p, e in listing.entries if not e.deleted}
        folder, _, name = c.path.rpartition("/")
        stem, dot, ext = name.rpartition(".")
        if not stem:
            stem, dot, ext = name, "", ""
        for n in range(1, 1000):
            label = c.name.device if n == 1 else f"{c.name.device} {n}"
            candidate = f"{stem} ({label}){dot}{ext}"
            full = f"{folder}/{candidate}" if folder else candidate
            if full not in taken:
                return full
        raise ClientError(f"no free name beside {c.path}")

    async def _located(self, path: str) -> Located:
        return locate_in(await self.files.namespaces(), path)

    async def _commit(self, where: Located, items: list[wire.CommitItem]) -> None:
        outcomes = await (await self.files.transfer()).commit(where.namespace.id, items)
        for o in outcomes:
            if o.entry is None:
                raise ClientError(
                    f"{o.message or o.code or 'refused'}: it changed since; run roost conflicts"
                    " again"
                )


def when_of(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000).astimezone()


def sides(c: Conflict) -> str:
    """`mine: laptop, 2026-12-05 14:02:11 · theirs: desktop, 2026-12-05 14:01:50`."""
    mine = f"mine: {c.name.device}, {when_of(c.copy.mtime_ms):%Y-%m-%d %H:%M:%S}"
    if c.original is None:
        return f"{mine} · theirs: deleted"
    return f"{mine} · theirs: {c.original.device}, {when_of(c.original.mtime_ms):%Y-%m-%d %H:%M:%S}"
