"""`RemoteFiles`: files from any device, without a workspace: list, get, put, history,
restore, sharing (invitations, accepting, leaving), and post attachments. Paths are as a
workspace shows them: a shared folder appears under its name, everything else is the home."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from client.boundary import translate_storage_errors
from client.core import Read, RoostClient, Written
from client.errors import ClientError, ServerError
from client.limits import entries_problem, fetch_usage, quota_problem, upload_problem
from client.sync.scan import hash_file
from client.sync.transfer import Transfer, sources_of
from protocol import files as wire
from protocol.errors import ErrorCode
from protocol.types import Empty, underscored


@dataclass(frozen=True)
class Located:
    namespace: wire.Namespace
    path: str  # inside the namespace; "" for its root

    def shown(self, inner: str) -> str:
        prefix = "" if self.namespace.kind == "home" else self.namespace.name + "/"
        return prefix + inner


def normalize(path: str) -> str:
    path = path.strip().strip("/")
    if path in ("", "."):
        return ""
    problem = wire.path_problem(path)
    if problem:
        raise ClientError(f"bad path {path!r}: {problem}")
    return unicodedata.normalize("NFC", path)  # as the server stores it


def put_target(path: str | None, name: str) -> str:
    """Where `files put` writes a file called `name`: PATH, or into it when PATH ends with
    "/" or is "." (as cp does); the top when PATH is left out."""
    base = (path or "").strip()
    if base.rstrip("/") in ("", "."):
        return name
    return f"{base.rstrip('/')}/{name}" if base.endswith("/") else base


def locate_in(spaces: list[wire.Namespace], path: str) -> Located:
    """Which namespace a workspace path lives in: a share's folder name, else the home."""
    top, _, rest = path.partition("/")
    for ns in spaces:
        if ns.kind == "shared" and ns.name == top:
            return Located(ns, rest)
    home = next(ns for ns in spaces if ns.kind == "home")
    return Located(home, path)


def find_invitation(invitations: list[wire.Invitation], which: str) -> wire.Invitation:
    """The invitation `which` names: its id, or its folder's name (case-insensitively); one
    line naming the choices when none or several match."""
    text = which.strip().strip("/")
    if text.isdigit():  # an id, or its last 6+ digits
        from client.ids import resolve_id

        text = resolve_id(text, "invitation", seen=[i.id for i in invitations])
    for invitation in invitations:
        if invitation.id == text:
            return invitation
    named = [i for i in invitations if wire.path_key(i.folder) == wire.path_key(text)]
    if len(named) == 1:
        return named[0]
    if named:
        choices = ", ".join(f"{i.id} (from {i.owner})" for i in named)
        raise ClientError(f"{len(named)} invitations to {text!r}; name one by its id: {choices}")
    waiting = ", ".join(f"{i.folder!r} from {i.owner}" for i in invitations) or "none"
    raise ClientError(f"no invitation {text!r} waiting for you (waiting: {waiting})")


@dataclass(frozen=True)
class Listing:
    """Every live and deleted path of every namespace, for a view without a workspace."""

    namespaces: list[wire.Namespace]
    entries: list[tuple[str, wire.Entry]]  # (shown path, its current version), by path
    offline: bool


@dataclass(frozen=True)
class Listed:
    """One row of `roost files ls`."""

    shown: str  # the path as the workspace shows it
    kind: str  # "file", "dir" or "share"
    entry: wire.Entry | None  # None for a share, or a folder known only from paths inside it


def list_under(live: list[wire.Entry], base: str, recursive: bool) -> list[Listed] | None:
    """The rows of a listing of `base` (a path inside one namespace, "" for its top), from the
    namespace's live entries; None when nothing is there. One level down, a folder shows even
    without an entry of its own (a file put straight into `docs/` leaves none)."""
    prefix = base + "/" if base else ""
    rows: dict[str, Listed] = {}
    found = not base
    for e in live:
        if e.path == base:
            found = True
            if e.kind != "dir" or recursive:
                rows[e.path] = Listed(e.path, e.kind, e)
            continue
        if not e.path.startswith(prefix):
            continue
        found = True
        head, nested, _ = e.path[len(prefix) :].partition("/")
        if recursive or not nested:
            rows[e.path] = Listed(e.path, e.kind, e)
        else:
            rows.setdefault(prefix + head, Listed(prefix + head, "dir", None))
    return list(rows.values()) if found else None


@translate_storage_errors
class RemoteFiles:
    def __init__(self, client: RoostClient) -> None:
        self.client = client
        self._transfer: Transfer | None = None

    async def transfer(self) -> Transfer:
        conn = await self.client.connect()
        if self._transfer is None or self._transfer.conn is not conn:
            self._transfer = Transfer(conn)
        return self._transfer

    async def namespaces(self) -> list[wire.Namespace]:
        listed: wire.NamespaceList = await self.client.call("files.namespaces")
        return listed.namespaces

    async def locate(self, path: str) -> Located:
        return locate_in(await self.namespaces(), normalize(path))

    async def locate_inside(self, path: str) -> Located:
        """`locate` for a path inside a folder of files: not the top, nor a whole share."""
        where = await self.locate(path)
        if not where.path:
            shown = path.strip().strip("/")
            top = shown in ("", ".")
            what = "that is the top of your files" if top else f"{shown!r} is a whole shared folder"
            raise ClientError(f"{what}: name a file or folder in it")
        return where

    async def entries(self, ns: wire.Namespace) -> list[wire.Entry]:
        out: list[wire.Entry] = []
        since = 0
        while True:
            page: wire.Changes = await self.client.call(
                "files.changes", wire.GetChanges(ns.id, since, 1000)
            )
            out.extend(page.entries)
            since = page.seq
            if not page.more:
                return out

    async def ls(self, path: str = "", *, recursive: bool = False) -> list[Listed]:
        """What `path` holds, by shown path: one level (as `ls` does), or everything under it.
        At the top of the home, each shared folder is one row of kind "share"."""
        where = await self.locate(path)
        shares = {ns.name for ns in await self.namespaces() if ns.kind == "shared"}
        live = [
            e
            for e in await self.entries(where.namespace)
            if not e.deleted
            and not (where.namespace.kind == "home" and e.path.partition("/")[0] in shares)
        ]
        rows = list_under(live, where.path, recursive)
        if rows is None:
            raise ClientError(f"no file or folder {path!r}")
        if where.namespace.kind == "home" and not where.path:
            rows.extend(Listed(name, "share", None) for name in shares)
        shown = [Listed(where.shown(r.shown), r.kind, r.entry) for r in rows]
        return sorted(shown, key=lambda r: r.shown)

    async def listing(self) -> Listing:
        """All paths of all namespaces through the client cache, so it also shows offline."""
        listed = await self.client.read("files.namespaces", None, cache_key="mine")
        spaces: list[wire.Namespace] = listed.result.namespaces
        offline = listed.offline
        shares = {ns.name for ns in spaces if ns.kind == "shared"}
        rows: list[tuple[str, wire.Entry]] = []
        for ns in spaces:
            since = 0
            while True:
                page: Read[wire.Changes] = await self.client.read(
                    "files.changes",
                    wire.GetChanges(ns.id, since, 1000),
                    cache_key=f"{ns.id}:{since}",
                )
                offline = offline or page.offline
                for e in page.result.entries:
                    if ns.kind == "home" and e.path.partition("/")[0] in shares:
                        continue  # moved into a share: shown under the share
                    rows.append((e.path if ns.kind == "home" else f"{ns.name}/{e.path}", e))
                since = page.result.seq
                if not page.result.more:
                    break
        return Listing(spaces, sorted(rows, key=lambda r: r[0]), offline)

    async def versions(self, where: Located) -> Read[wire.Versions]:
        """A path's history through the client cache (newest first)."""
        return await self.client.read(
            "files.history",
            wire.History(where.namespace.id, where.path),
            cache_key=f"{where.namespace.id}:{where.path}",
        )

    async def cached_shares(self) -> Read[wire.ShareList]:
        return await self.client.read("files.shares", Empty(), cache_key="mine")

    async def history(self, path: str) -> list[wire.Entry]:
        """Every version of `path`, newest first."""
        return await self._history(await self.locate_inside(path), path)

    async def _history(self, where: Located, path: str) -> list[wire.Entry]:
        """ClientError naming `path` as the person wrote it (a shared folder's server-side
        path lacks the folder) if it has no version."""
        versions = await self._versions(where)
        if versions is None:
            raise ClientError(f"no file {path!r}")
        return versions

    async def current(self, where: Located) -> wire.Entry | None:
        versions = await self._versions(where)
        return versions[0] if versions else None

    async def _versions(self, where: Located) -> list[wire.Entry] | None:
        try:
            answer: wire.Versions = await self.client.call(
                "files.history", wire.History(where.namespace.id, where.path)
            )
        except ServerError as exc:
            if exc.code == ErrorCode.NOT_FOUND:
                return None
            raise
        return answer.versions

    async def restore(self, path: str, version_id: str | None = None) -> wire.Entry:
        """Make a version current again; without `version_id`, bring a deleted file back as
        it was before its deletion."""
        where = await self.locate_inside(path)
        if version_id is None:
            version_id = await self._before_deletion(where, path)
        written: Written[wire.Entry] = await self.client.write(
            "files.restore", wire.Restore(where.namespace.id, where.path, version_id)
        )
        if written.result is None:
            raise ClientError("the server is unreachable; the restore was queued")
        return written.result

    async def _before_deletion(self, where: Located, path: str) -> str:
        versions = await self._history(where, path)  # newest first
        if versions and not versions[0].deleted:
            raise ClientError(
                f"{path} is not deleted; name the version to restore with --version"
                f" (roost files history {path})"
            )
        for entry in versions:
            if not entry.deleted:
                return entry.version_id
        raise ClientError(f"{path} has no version from before a deletion")

    async def purge(self, path: str) -> wire.Purged:
        where = await self.locate_inside(path)
        written: Written[wire.Purged] = await self.client.write(
            "files.purge", wire.Purge(where.namespace.id, where.path)
        )
        if written.result is None:
            raise ClientError("the server is unreachable; the purge was queued")
        return written.result

    async def get(self, path: str, out: Path, *, force: bool = False) -> wire.Entry:
        refuse_overwrite([out], force)
        where = await self.locate_inside(path)
        entry = await self.current(where)
        if entry is None or entry.deleted:
            raise ClientError(f"no file {path!r} (see roost files history)")
        if entry.kind == "dir":
            raise ClientError(f"{path!r} is a folder")
        await (await self.transfer()).download(
            entry.blocks, out, mtime_ms=entry.mtime_ms, size=entry.size
        )
        return entry

    async def check_fits(self, local: Path, *, own_quota: bool) -> None:
        """Refuse before uploading what the server would refuse at commit."""
        size = local.stat().st_size
        usage = await fetch_usage(self.client.call)
        problem = upload_problem(str(local), size, usage)
        if problem is None and own_quota:
            problem = quota_problem(size, usage) or entries_problem(usage)
        if problem:
            raise ClientError(problem)

    async def upload_blocks(self, local: Path) -> tuple[list[str], int]:
        chunks = hash_file(local)
        transfer = await self.transfer()
        unreadable = await transfer.upload(None, sources_of(local, chunks))
        if unreadable:
            raise ClientError(f"{local} changed while it was being sent; try again")
        return [h for h, _ in chunks], sum(n for _, n in chunks)

    async def put(self, local: Path, path: str | None = None) -> wire.Entry:
        if not local.is_file():
            raise ClientError(f"{local} is not a file")
        where = await self.locate(put_target(path, local.name))
        if not where.path:  # a shared folder itself: into it, as cp does
            where = Located(where.namespace, local.name)
        if where.namespace.role == wire.Role.VIEWER:
            raise ClientError(f"you are a viewer of {where.namespace.name!r}; it is read-only")
        current = await self.current(where)
        if current is not None and current.kind == "dir" and not current.deleted:
            where = Located(where.namespace, f"{where.path}/{local.name}")
            current = await self.current(where)
        await self.check_fits(local, own_quota=where.namespace.kind == "home")
        blocks, size = await self.upload_blocks(local)
        item = wire.CommitItem(
            path=where.path,
            parent_id=current.version_id if current else None,
            size=size,
            mtime_ms=int(local.stat().st_mtime * 1000),
            blocks=blocks,
        )
        [outcome] = await (await self.transfer()).commit(where.namespace.id, [item])
        if outcome.entry is None:
            raise ServerError(outcome.code or "conflict", outcome.message or "refused")
        return outcome.entry

    # ------------------------------------------------------------------ sharing
    async def share(self, folder: str, username: str, role: str) -> wire.ShareInfo:
        info: wire.ShareInfo = await self._write(
            "files.share", wire.Share(normalize(folder), username, wire.Role(role))
        )
        return info

    async def unshare(self, folder: str, username: str) -> wire.ShareInfo:
        info: wire.ShareInfo = await self._write(
            "files.unshare", wire.Unshare(normalize(folder), username)
        )
        return info

    async def shares(self) -> list[wire.ShareInfo]:
        return (await self.share_list()).shares

    async def share_list(self) -> wire.ShareList:
        """The shares the caller belongs to and the invitations waiting for their answer."""
        answer: wire.ShareList = await self.client.call("files.shares", Empty())
        return answer

    async def invitations(self) -> list[wire.Invitation]:
        return (await self.share_list()).invitations

    async def accept(self, which: str) -> wire.ShareInfo:
        """Accept an invitation, named by its id or its folder's name."""
        invitation = find_invitation(await self.invitations(), which)
        info: wire.ShareInfo = await self._write(
            "files.share.accept", wire.AnswerInvitation(invitation.id)
        )
        return info

    async def decline(self, which: str) -> wire.Invitation:
        invitation = find_invitation(await self.invitations(), which)
        await self._write("files.share.decline", wire.AnswerInvitation(invitation.id))
        return invitation

    async def leave(self, folder: str) -> wire.Left:
        """Stop being a member of a share (its folder as the workspace shows it)."""
        left: wire.Left = await self._write("files.share.leave", wire.LeaveShare(normalize(folder)))
        return left

    async def _write(self, op: str, args: msgspec.Struct) -> Any:
        written: Written[Any] = await self.client.write(op, args)
        if written.result is None:
            raise ClientError("the server is unreachable; queued (roost outbox lists it)")
        return written.result

    # ------------------------------------------------------------------ attachments
    async def attach(self, local: Path) -> wire.Attachment:
        if not local.is_file():
            raise ClientError(f"{local} is not a file")
        await self.check_fits(local, own_quota=True)
        blocks, size = await self.upload_blocks(local)
        transfer = await self.transfer()
        upload_id = None
        if len(blocks) > 200:
            upload_id = secrets.token_urlsafe(12)
            await transfer.stage(upload_id, blocks)
        args = wire.Attach(
            name=local.name,
            size=size,
            blocks=None if upload_id else blocks,
            upload_id=upload_id,
            block_count=len(blocks),
        )
        written: Written[wire.Attachment] = await self.client.write("files.attach", args)
        if written.result is None:
            raise ClientError("the server is unreachable; try again later")
        return written.result

    async def media_get(
        self, attachment_id: str, out: Path | None, *, force: bool = False
    ) -> tuple[wire.Attachment, Path]:
        att: wire.Attachment = await self.client.call(
            "media.get", wire.GetAttachment(attachment_id)
        )
        [dest] = media_destinations([att.name], out)
        refuse_overwrite([dest], force)
        await (await self.transfer()).download(att.blocks, dest, size=att.size)
        return att, dest

    async def download_media(
        self, media_id: str, out: Path | None, *, force: bool = False
    ) -> list[tuple[wire.Attachment, Path]]:
        """Download a post's attachments, or one attachment: posts and attachments share one
        id space, so the id says which it is. Asks for a post first, then an attachment."""
        try:
            media: wire.PostMedia = await self.client.call(
                "media.post", wire.GetPostMedia(media_id)
            )
        except ServerError as exc:
            if exc.code != ErrorCode.NOT_FOUND:
                raise
            try:
                return [await self.media_get(media_id, out, force=force)]
            except ServerError as again:
                if again.code != ErrorCode.NOT_FOUND:
                    raise
                raise ServerError(again.code, f"no post or attachment {media_id}") from None
        if not media.attachments:
            raise ClientError(f"post {media_id} has no attachments")
        dests = media_destinations([a.name for a in media.attachments], out)
        refuse_overwrite(dests, force)  # all checked first: nothing is half done
        transfer = await self.transfer()
        for att, dest in zip(media.attachments, dests, strict=True):
            await transfer.download(att.blocks, dest, size=att.size)
        return list(zip(media.attachments, dests, strict=True))


def media_destinations(names: list[str], out: Path | None) -> list[Path]:
    """Where a post's attachments go: into `out` when it is a directory, or when there is more
    than one (it is then created); onto `out` itself for a single file; else the current
    directory. Each name is made safe (`local_name`); names repeated within the post get
    " (2)", " (3)" before the extension."""
    folder = out is None or out.is_dir() or len(names) > 1
    if not folder:
        assert out is not None
        return [out]
    base = out or Path()
    taken: set[str] = set()
    dests: list[Path] = []
    for name in names:
        plain = local_name(name)
        candidate, n = plain, 1
        while candidate.lower() in taken:
            n += 1
            stem, dot, ext = plain.rpartition(".")
            candidate = f"{stem} ({n}).{ext}" if dot and stem else f"{plain} ({n})"
        taken.add(candidate.lower())
        dests.append(base / candidate)
    return dests


def local_name(name: str) -> str:
    """A name someone else chose, made safe to create here: one component (no folder part,
    so nothing lands outside the target folder), no control or text-direction characters,
    and no leading dot (an attachment named `.bashrc` is saved as `bashrc`)."""
    last = re.split(r"[/\\]", name)[-1]
    cleaned = underscored(last).lstrip(". ")
    while len(cleaned.encode()) > wire.MAX_NAME_BYTES:
        cleaned = cleaned[:-1]
    return cleaned or "attachment"


def refuse_overwrite(dests: list[Path], force: bool) -> None:
    """Never replace an existing file unless asked to (`--force`); a folder never."""
    for dest in dests:
        if dest.is_dir():
            raise ClientError(f"{dest} is a folder: name a file in it with -o")
        if dest.exists() and not force:
            raise ClientError(f"{dest} exists: add --force to replace it, or -o to name another")
