"""Handlers for files.* and media.get: thin; the commit rules are the plain functions below."""

from __future__ import annotations

import time
from dataclasses import dataclass

from protocol import files as wire
from protocol.errors import ErrorCode, RoostError
from protocol.types import Empty
from server.context import OpContext, Services
from server.quota import (
    QuotaCheck,
    UploadRoom,
    check_file_size,
    check_staged,
    check_uncommitted,
    size_problem,
    uncommitted_cap,
)
from server.router import Handler
from server.session import Session
from server.social.services import as_id
from storage.database import now_ms
from storage.server.announced_uploads import withdraw as withdraw_announced
from storage.server.file_moves import history_through_moves
from storage.server.files import AttachmentRecord, NamespaceRecord, NewVersion, VersionRecord
from storage.server.space import hold_space, purge_history, storage_use, uncommitted_bytes


def wire_entry(v: VersionRecord) -> wire.Entry:
    return wire.Entry(
        version_id=str(v.id),
        namespace_id=str(v.namespace_id),
        path=v.path,
        seq=v.seq,
        kind=v.kind,
        size=v.size,
        mtime_ms=v.mtime_ms,
        deleted=v.deleted,
        blocks=list(v.blocks),
        parent_id=None if v.parent_id is None else str(v.parent_id),
        device=v.device_name,
        created_at_ms=v.created_at,
    )


def parent_problem(current: tuple[int, bool] | None, parent_id: int | None) -> str | None:
    """Optimistic concurrency: a commit must build on the path's current version."""
    current_id = current[0] if current else None
    if current_id == parent_id:
        return None
    if current_id is None:
        return f"parent {parent_id} is not a version of this path"
    return f"the path changed: current version is {current_id}, not {parent_id}"


def shape_problem(item: wire.CommitItem, blocks: list[str]) -> str | None:
    if item.deleted or item.kind == wire.Kind.DIR:
        if blocks or item.size:
            return "deletions and folders carry no blocks and no size"
        return None
    if (item.size == 0) != (not blocks):
        return "an empty file has no blocks; a non-empty one needs them"
    return None


@dataclass
class TreeShape:
    """Files hold no paths and folders hold no content: what is live now (path -> kind), and
    what the batch makes of its paths (path -> kind, None when it deletes it), so the order of
    the batch's items does not matter."""

    live: dict[str, str]
    becoming: dict[str, str | None]

    def kind(self, path: str) -> str | None:
        return self.becoming[path] if path in self.becoming else self.live.get(path)

    def problem(self, path: str, deleted: bool) -> str | None:
        """Why an item at `path` may not be live, if it may not."""
        if deleted:
            return None
        for folder in wire.folders_above(path):
            if self.kind(folder) not in (None, "dir"):
                return f"{folder!r} is a file; nothing can go inside it"
        return None

    def emptied(self, inside: list[str]) -> bool:
        """Whether the batch deletes all of these paths."""
        return all(p in self.becoming and self.becoming[p] is None for p in inside)


async def namespace_of(ctx: OpContext, ns_id: str, *, write: bool = False) -> NamespaceRecord:
    ns = await ctx.services.files.namespace_for(ctx.identity.user_id, int(ns_id), ctx.conn)
    if ns is None:  # someone else's namespace looks exactly like a missing one
        raise RoostError(ErrorCode.NOT_FOUND, f"no namespace {ns_id}")
    if write and ns.role == wire.Role.VIEWER:
        raise RoostError(ErrorCode.FORBIDDEN, f"you are a viewer of {ns.name!r}; it is read-only")
    return ns


def wire_namespace(ns: NamespaceRecord) -> wire.Namespace:
    return wire.Namespace(str(ns.id), ns.name, ns.kind, ns.role, ns.owner, ns.seq)


async def namespaces(ctx: OpContext, args: Empty) -> wire.NamespaceList:
    files, me = ctx.services.files, ctx.identity
    if not await files.has_home(me.user_id):
        async with ctx.services.db.write() as tx:
            await files.ensure_home(tx, me.user_id, ctx.services.ids.next(), now_ms())
    return wire.NamespaceList(
        [wire_namespace(n) for n in await files.namespaces_of(me.user_id, ctx.conn)]
    )


async def changes(ctx: OpContext, args: wire.GetChanges) -> wire.Changes:
    await namespace_of(ctx, args.namespace_id)
    found = await ctx.services.files.changes(int(args.namespace_id), args.since, args.limit + 1)
    more = len(found) > args.limit
    found = found[: args.limit]
    cursor = found[-1].seq if found else args.since
    return wire.Changes([wire_entry(v) for v in found], cursor, more)


async def missing(ctx: OpContext, args: wire.FindMissing) -> wire.Missing:
    readable = await ctx.services.files.readable_blocks(ctx.identity.user_id, args.hashes, ctx.conn)
    return wire.Missing([h for h in dict.fromkeys(args.hashes) if h not in readable])


async def stage(ctx: OpContext, args: wire.StageBlocks) -> Empty:
    files, me, limits = ctx.services.files, ctx.identity, ctx.services.config.limits
    async with ctx.services.db.write() as tx:
        page = (args.upload_id, args.offset, len(args.hashes))
        staged = await files.staged_count(tx, me.user_id, page)
        check_staged(staged + len(args.hashes), limits.max_staged_blocks, limits.upload_age_ms)
        await files.stage(tx, me.user_id, args.upload_id, args.offset, args.hashes, now_ms())
    from server.files import streaming  # it builds on this module's namespace_of

    await streaming.staged(ctx, args)
    return Empty()


async def check_upload_room(services: Services, session: Session, incoming: int) -> None:
    """Refuse a block upload (RPUT, RPTS) while the user's uploads waiting for a commit are
    at their cap. Checked before the bytes are stored, against what is recorded, at most
    once per ROOM_RECHECK_BYTES or ROOM_RECHECK_S of a connection's uploads while the cap
    is further away than that: one read per block cost the database a third of a second per
    GiB. Unchecked uploads leave the last read's room above ROOM_RECHECK_BYTES, so only
    several connections at once can pass the cap (by up to that much each), besides the
    frames in flight."""
    assert session.identity is not None
    limits = services.config.limits
    cap = uncommitted_cap(limits.max_uncommitted_bytes, limits.max_file_bytes, limits.quota_bytes)
    if cap is None:
        return
    room, now = session.upload_room, time.monotonic()
    if room is not None and room.allows(incoming, now):
        return
    pending = await uncommitted_bytes(services.db.reader, session.identity.user_id)
    check_uncommitted(pending, cap, limits.upload_age_ms)
    session.upload_room = UploadRoom.after_check(cap - pending, now)


async def _blocks_of(
    ctx: OpContext,
    blocks: list[str] | None,
    upload_id: str | None,
    count: int,
    known: set[str] | None = None,
) -> list[str]:
    """The block list, inline or staged, checked: every block present for this caller
    (`known`: blocks already found readable in this transaction, saving a query)."""
    if blocks is not None and upload_id is not None:
        raise RoostError(ErrorCode.INVALID_ARGS, "give blocks or upload_id, not both")
    if upload_id is not None:
        blocks = await ctx.services.files.take_staged(ctx.write_tx, ctx.identity.user_id, upload_id)
        if len(blocks) != count:
            raise RoostError(
                ErrorCode.INVALID_ARGS, f"{len(blocks)} blocks staged, block_count says {count}"
            )
    blocks = blocks or []
    present = known if known is not None and upload_id is None else set()
    unknown = [h for h in blocks if h not in present]
    if unknown:
        present = await ctx.services.files.readable_blocks(
            ctx.identity.user_id, unknown, ctx.write_tx
        )
    absent = [h for h in unknown if h not in present]
    if absent:
        raise RoostError(
            ErrorCode.NOT_FOUND, f"{len(set(absent))} block(s) not uploaded, e.g. {absent[0][:12]}"
        )
    return blocks


@dataclass
class BatchPaths:
    """What the journal says of the batch's paths, updated as the batch's items are accepted:
    path -> (current version, deleted), and case-folded key -> live paths."""

    current: dict[str, tuple[int, bool]]
    live_by_key: dict[str, set[str]]

    def accept(self, path: str, key: str, version_id: int, deleted: bool) -> None:
        self.current[path] = (version_id, deleted)
        live = self.live_by_key.setdefault(key, set())
        if deleted:
            live.discard(path)
        else:
            live.add(path)

    def case_twin(self, path: str, key: str) -> str | None:
        others = sorted(self.live_by_key.get(key, set()) - {path})
        return others[0] if others else None


async def commit(ctx: OpContext, args: wire.Commit) -> wire.CommitResult:
    """Each item is checked and recorded in order, as if committed one by one, but the
    lookups and writes are a few set-based statements for the whole batch."""
    ns = await namespace_of(ctx, args.namespace_id, write=True)
    files, tx = ctx.services.files, ctx.write_tx
    await hold_space(tx, ns.owner_id)  # before reading the paths: see hold_space
    inline = [h for item in args.items for h in item.blocks or ()]
    known = await files.readable_blocks(ctx.identity.user_id, inline, tx)
    valid = _valid_items(args.items)
    above = sorted({folder for p, _ in valid for folder in wire.folders_above(p)})
    paths = [p for p, _ in valid] + above
    keys = [wire.path_key(p) for p in paths]
    state = BatchPaths(
        await files.currents(tx, ns.id, paths), await files.live_paths_by_key(tx, ns.id, keys)
    )
    tree = TreeShape(
        await files.live_kinds(tx, ns.id, paths),
        {p: None if item.deleted else item.kind.value for p, item in valid},
    )
    outcomes: list[wire.Outcome | None] = []
    accepted: list[tuple[int, NewVersion]] = []
    made: set[int] = set()  # folders the items needed and nobody committed: made for them
    space = await space_of(ctx, ns.owner_id)
    sizes = await files.block_sizes(tx, inline)
    arrived: list[str] = []  # uploads that were on their way (files.announce)
    for item in args.items:
        try:
            new = await _check_item(ctx, item, known, sizes, state, tree, ns.id)
            folders = [] if new.deleted else _folders_to_make(new.path, state, tree)
            charge(ctx, space, new.size, 1 + len(folders), deletion=new.deleted)
        except RoostError as exc:
            outcomes.append(wire.Outcome(code=exc.code.value, message=exc.message))
            continue
        tree.becoming.update((v.path, "dir") for v in folders)
        for version in [*folders, new]:
            version_id = ctx.services.ids.next()
            state.accept(version.path, version.path_key, version_id, version.deleted)
            accepted.append((version_id, version))
            if version is not new:
                made.add(version_id)
        outcomes.append(None)
        if item.upload_id is not None:
            arrived.append(item.upload_id)
    me = ctx.identity
    added = await files.add_versions(tx, ns.id, accepted, me.user_id, me.device_name, now_ms())
    if arrived:  # the journal entry tells the members; a refused item's stays announced
        await withdraw_announced(tx, me.user_id, arrived)
        ctx.after_commit(lambda: ctx.session.arrived(*arrived))
    await files.settle_uploads(tx, me.user_id, (h for _, v in accepted for h in v.blocks))
    versions = iter(v for v in added if v.id not in made)
    result = [
        o if o is not None else wire.Outcome(entry=wire_entry(next(versions))) for o in outcomes
    ]
    if accepted:
        await announce(ctx, ns.id)
    return wire.CommitResult(result)


def _folders_to_make(path: str, state: BatchPaths, tree: TreeShape) -> list[NewVersion]:
    """Folder entries for the folders above `path` that are not there (a file put straight
    into "docs/" names none): then every live path's folders are live folders, which is what
    keeps a file from being made where a folder has files (`TreeShape`). The caller records
    them in `tree` once the item is accepted."""
    out: list[NewVersion] = []
    for folder in wire.folders_above(path):
        if tree.kind(folder) is not None:
            continue
        key = wire.path_key(folder)
        if other := state.case_twin(folder, key):
            raise RoostError(ErrorCode.CONFLICT, f"{folder!r} differs from {other!r} only by case")
        current = state.current.get(folder)
        parent = current[0] if current else None  # a folder deleted before comes back
        out.append(NewVersion(folder, key, "dir", 0, now_ms(), False, parent, []))
    return out


def _valid_path(path: str) -> str | None:
    try:
        return wire.validate_path(path)
    except RoostError:
        return None


def _valid_items(items: list[wire.CommitItem]) -> list[tuple[str, wire.CommitItem]]:
    return [(p, item) for item in items if (p := _valid_path(item.path)) is not None]


async def _check_item(
    ctx: OpContext,
    item: wire.CommitItem,
    known: set[str],
    sizes: dict[str, int],
    state: BatchPaths,
    tree: TreeShape,
    ns_id: int,
) -> NewVersion:
    """The version an item would add, or the RoostError that refuses it."""
    path = wire.validate_path(item.path)
    if not item.deleted and (problem := wire.reserved_problem(path, item.kind)):
        raise RoostError(ErrorCode.INVALID_ARGS, f"bad path {path[:80]!r}: {problem}")
    blocks = await _blocks_of(ctx, item.blocks, item.upload_id, item.block_count, known)
    if problem := shape_problem(item, blocks):
        raise RoostError(ErrorCode.INVALID_ARGS, problem)
    if problem := size_problem(item.size, await _counted_size(ctx, blocks, sizes)):
        raise RoostError(ErrorCode.INVALID_ARGS, problem)
    parent = int(item.parent_id) if item.parent_id is not None else None
    if problem := parent_problem(state.current.get(path), parent):
        raise RoostError(ErrorCode.CONFLICT, problem)
    key = wire.path_key(path)
    if not item.deleted and (other := state.case_twin(path, key)):
        raise RoostError(ErrorCode.CONFLICT, f"{path!r} differs from {other!r} only by case")
    if problem := tree.problem(path, item.deleted):
        raise RoostError(ErrorCode.CONFLICT, problem)
    if tree.live.get(path) == "dir" and (item.deleted or item.kind != wire.Kind.DIR):
        inside = await ctx.services.files.live_inside(ctx.write_tx, ns_id, path)
        if not tree.emptied(inside):  # a folder goes, or becomes a file, once it is empty
            raise RoostError(ErrorCode.CONFLICT, f"{path!r} is a folder with files in it")
    return NewVersion(
        path, key, item.kind.value, item.size, item.mtime_ms, item.deleted, parent, blocks
    )


async def _counted_size(ctx: OpContext, blocks: list[str], sizes: dict[str, int]) -> int:
    """A version's size as the server counts it: its blocks' raw sizes, repeats included
    (`sizes` holds those looked up already; a staged list's are looked up here)."""
    unknown = [h for h in dict.fromkeys(blocks) if h not in sizes]
    if unknown:
        sizes.update(await ctx.services.files.block_sizes(ctx.write_tx, unknown))
    return sum(sizes.get(h, 0) for h in blocks)  # an absent block is refused on its own


async def space_of(ctx: OpContext, owner_id: int) -> QuotaCheck:
    """The owner's quota and entry limit with what they use now."""
    limits = ctx.services.config.limits
    use = await storage_use(ctx.write_tx, owner_id)
    return QuotaCheck(
        use.bytes,
        limits.quota_bytes,
        entries=use.entries,
        max_entries=limits.max_entries,
        owner_is_caller=owner_id == ctx.identity.user_id,
    )


def charge(
    ctx: OpContext, space: QuotaCheck, size: int, entries: int = 1, *, deletion: bool = False
) -> None:
    """Refuse a file over the size limit, over the quota or past the entry limit; else count
    it. Deletions are never refused, so a user over a limit can still clean up."""
    if deletion:
        space.count(entries)
        return
    if size:
        check_file_size(size, ctx.services.config.limits.max_file_bytes)
    space.take(size, entries)


async def add_version(ctx: OpContext, ns_id: int, new: NewVersion) -> VersionRecord:
    me = ctx.identity
    return await ctx.services.files.add_version(
        ctx.write_tx, ctx.services.ids.next(), ns_id, new, me.user_id, me.device_name, now_ms()
    )


async def announce(ctx: OpContext, ns_id: int) -> None:
    ns = await ctx.services.files.namespace_for(ctx.identity.user_id, ns_id, ctx.conn)
    members = await ctx.services.files.members(ns_id, ctx.conn)
    seq = ns.seq if ns else 0
    ctx.emit([m[0] for m in members], "files.changed", wire.FilesChanged(str(ns_id), seq))


async def history(ctx: OpContext, args: wire.History) -> wire.Versions:
    await namespace_of(ctx, args.namespace_id)
    path = wire.validate_path(args.path)
    found = await history_through_moves(ctx.services.files, ctx.conn, int(args.namespace_id), path)
    if not found:
        raise RoostError(ErrorCode.NOT_FOUND, f"no file {path!r}")
    return wire.Versions([wire_entry(v) for v in found])


async def restore(ctx: OpContext, args: wire.Restore) -> wire.Entry:
    ns = await namespace_of(ctx, args.namespace_id, write=True)
    path = wire.validate_path(args.path)
    files, tx = ctx.services.files, ctx.write_tx
    old = await files.version(tx, ns.id, int(args.version_id))
    if old is not None and old.path != path:  # from before a move to `path`, or not its own
        lineage = await history_through_moves(files, tx, ns.id, path)
        old = old if any(v.id == old.id for v in lineage) else None
    if old is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"{path!r} has no version {args.version_id}")
    if old.deleted:
        raise RoostError(ErrorCode.INVALID_ARGS, "that version is a deletion; pick an older one")
    current = await files.current(tx, ns.id, path)
    size = await _counted_size(ctx, list(old.blocks), {})  # not what an old commit declared
    again = wire.CommitItem(  # checked as any commit is: quota, case, files and folders
        path, str(current[0]) if current else None, wire.Kind(old.kind), size, now_ms(),
        blocks=list(old.blocks),
    )  # fmt: skip
    [outcome] = (await commit(ctx, wire.Commit(args.namespace_id, [again]))).outcomes
    if outcome.entry is None:
        raise RoostError(ErrorCode(outcome.code or "conflict"), outcome.message or "refused")
    return outcome.entry


async def purge(ctx: OpContext, args: wire.Purge) -> wire.Purged:
    ns = await namespace_of(ctx, args.namespace_id, write=True)
    if ns.role != wire.Role.OWNER:
        raise RoostError(ErrorCode.FORBIDDEN, f"only the owner of {ns.name!r} can purge history")
    path = wire.validate_path(args.path)
    await hold_space(ctx.write_tx, ns.owner_id)
    done = await purge_history(ctx.write_tx, ctx.services.files, ns.id, path)
    if not done.versions and await ctx.services.files.current(ctx.write_tx, ns.id, path) is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no history of {path!r}")
    return wire.Purged(done.versions, done.bytes)


async def attach(ctx: OpContext, args: wire.Attach) -> wire.Attachment:
    if "/" in args.name:
        raise RoostError(ErrorCode.INVALID_ARGS, f"bad attachment name {args.name[:80]!r}")
    name = wire.validate_path(args.name)
    blocks = await _blocks_of(ctx, args.blocks, args.upload_id, args.block_count)
    if (args.size == 0) != (not blocks):
        raise RoostError(ErrorCode.INVALID_ARGS, "an empty attachment has no blocks")
    if problem := size_problem(args.size, await _counted_size(ctx, blocks, {})):
        raise RoostError(ErrorCode.INVALID_ARGS, problem)
    files, me = ctx.services.files, ctx.identity
    await hold_space(ctx.write_tx, me.user_id)
    charge(ctx, await space_of(ctx, me.user_id), args.size)
    attachment_id = ctx.services.ids.next()
    await files.add_attachment(
        ctx.write_tx, attachment_id, me.user_id, name, args.size, blocks, now_ms()
    )
    await files.settle_uploads(ctx.write_tx, me.user_id, blocks)
    record = await files.attachment(attachment_id, ctx.write_tx)
    assert record is not None
    return wire_attachment(record)


async def media_get(ctx: OpContext, args: wire.GetAttachment) -> wire.Attachment:
    record = await ctx.services.files.attachment(
        _number(args.attachment_id), ctx.conn, reader_id=ctx.identity.user_id
    )
    if record is None:  # missing and not yours to read look the same
        raise RoostError(ErrorCode.NOT_FOUND, f"no attachment {args.attachment_id}")
    return wire_attachment(record)


async def post_media(ctx: OpContext, args: wire.GetPostMedia) -> wire.PostMedia:
    """A live post's attachments, to whoever may see the post (everyone, unless its author
    is locked: then their approved followers, `storage/server/visibility.py`)."""
    social, me = ctx.services.social, ctx.identity.user_id
    post_id = _number(args.post_id)
    post = await social.posts.get(ctx.conn, post_id)
    if post is not None and post.repost_of is not None:
        post = await social.posts.get(ctx.conn, post.repost_of)
    # missing, deleted, or not for this reader: all look the same
    if post is None or await social.view(ctx.conn, me, post_id) is None:
        raise RoostError(ErrorCode.NOT_FOUND, f"no post {args.post_id}")
    files = ctx.services.files
    found = [await files.attachment(a.id, ctx.conn, reader_id=me) for a in post.attachments]
    return wire.PostMedia(str(post.id), [wire_attachment(r) for r in found if r is not None])


def _number(value: str) -> int:
    number = as_id(value)  # refuses ids past the 64-bit range as invalid_args
    assert number is not None
    return number


def wire_attachment(r: AttachmentRecord) -> wire.Attachment:
    return wire.Attachment(str(r.id), r.name, r.size, r.owner, list(r.blocks), r.created_at)


HANDLERS: dict[str, Handler] = {
    "files.namespaces": namespaces,
    "files.changes": changes,
    "files.missing": missing,
    "files.stage": stage,
    "files.commit": commit,
    "files.history": history,
    "files.restore": restore,
    "files.purge": purge,
    "files.attach": attach,
    "media.get": media_get,
    "media.post": post_media,
}
