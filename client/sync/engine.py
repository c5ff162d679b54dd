"""`SyncEngine`: binds a folder as this device's workspace and keeps it in sync.

One pass: pull each namespace's journal from its cursor into the remote view, scan the disk,
decide each path with the three-way rule (`client.sync.decide`), then act: folders, conflicts
and downloads, uploads (only missing blocks, batched commits), deletions. Shared folders are
mounted under their name, never over anything this device already has there
(`client.sync.mounts`); the home holds everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import msgspec

from client.boundary import translate_storage_errors
from client.connection import Connection
from client.core import RoostClient
from client.errors import ClientError, ServerError, Unreachable
from client.limits import (
    early_send_bytes,
    fetch_usage,
    upload_group_bytes,
    upload_groups,
    upload_problem,
)
from client.sync import status as sync_status
from client.sync.conflicts import conflicted_copy_name
from client.sync.decide import Action, Content, Version, decide, for_viewer
from client.sync.ignore import (
    IGNORE_FILE,
    MARKER,
    TEMP_PREFIX,
    Ignore,
    excluded_by,
    excluded_notes,
    reserved_here,
)
from client.sync.lock import SyncLock
from client.sync.mounts import MountAside, mount_points, settled
from client.sync.partial import drop_partials
from client.sync.scan import LocalFile, OnChunk, ScanResult, scan
from client.sync.status import Totals
from client.sync.streaming import StreamIn, StreamOut
from client.sync.transfer import (
    RATE_LIMIT_WAIT_MAX,
    BlockSource,
    TempFile,
    Transfer,
    call_patiently,
    first_error,
    sources_of,
    sweep_temp_files,
)
from protocol import files as wire
from protocol.accounts import Usage
from protocol.errors import ErrorCode
from storage.client.sync_index import LocalRow, RemoteRow, SyncedRow, SyncIndex
from storage.content.chunker import Chunk
from storage.content.malloc import tune_malloc

SMALL_FILE_BYTES = 256 << 10  # at most one block: many can be in flight for little memory
SMALL_FILES_FACTOR = 8  # small files at once = window x this; their blocks share batch frames
MAX_PASSES = 6  # a pass's own results (conflicted copies) settle in the next one
RATE_LIMITED_PASSES = 5  # passes the server's rate limit may cut short before a run fails
SETTLE_MS = 1500  # a file changed this recently is still being written: synced once it rests


def settle_ms_from_env() -> int:
    """ROOST_SYNC_SETTLE_MS, else SETTLE_MS (the test suite sets 0: its files are written
    whole before each sync)."""
    try:
        return max(0, int(os.environ.get("ROOST_SYNC_SETTLE_MS", SETTLE_MS)))
    except ValueError:
        return SETTLE_MS


def within(path: str, folders: list[str]) -> bool:
    """Whether `path` is one of these paths or inside one ("" holds everything)."""
    return any(not f or path == f or path.startswith(f + "/") for f in folders)


def restored_note(folder: str) -> str:
    """Why a pass synced a folder afresh (`PassReport.restored`), in one line."""
    if not folder:
        return (
            f"synced afresh, nothing deleted anywhere: this folder had no {MARKER} file (it"
            " was deleted and made again, its drive is not mounted, or an older Roost synced it)"
        )
    return (
        f"{folder} had gone from this device as a whole (renamed or deleted): a shared folder,"
        " brought back; nothing deleted for its other members"
    )


UNREADABLE = "this device may not read it (permission denied): left as it is everywhere"
MARKER_IS_A_FOLDER = (
    f"{MARKER} here is a folder, where Roost keeps a file that marks this workspace: each sync"
    " starts afresh (nothing is deleted anywhere) until that folder is renamed or removed"
)
HELD_BACK = (
    "the server holds this (an older server let it in), but Roost keeps the name for its own"
    " files here: left alone, on the server and on this device"
)


def mounted_aside_note(aside: MountAside) -> str:
    """Why a share shows under another name on this device (`PassReport.mounted_aside`)."""
    return (
        f"shared folder {aside.name!r} from {aside.owner} is at {aside.folder!r}: this device"
        f" already has something called {aside.name!r}, which stays yours, as it was"
    )


@dataclass(frozen=True)
class Mount:
    namespace: wire.Namespace
    prefix: str  # "" for the home, "Folder/" for a share

    @property
    def id(self) -> str:
        return self.namespace.id

    @property
    def read_only(self) -> bool:
        return self.namespace.role == wire.Role.VIEWER


@dataclass
class PassReport:
    uploaded: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    deleted_local: list[str] = field(default_factory=list)
    deleted_remote: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # the conflicted copies made
    kept_local: list[str] = field(default_factory=list)  # viewer changes never uploaded
    detached: list[str] = field(default_factory=list)  # unshared folders kept here, unsynced
    restored: list[str] = field(default_factory=list)  # synced afresh: see `restored_note`
    mounted_aside: list[MountAside] = field(default_factory=list)  # see `mounted_aside_note`
    warnings: list[str] = field(default_factory=list)  # said once per engine, while they hold
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    settling: list[str] = field(default_factory=list)  # still being written: a later pass
    settled_in_ns: int = 0  # when the first of them will have rested
    hashed: int = 0
    moved: Totals = field(default_factory=Totals)  # what `run_once` sent and fetched
    seconds: float = 0.0  # how long `run_once` worked (its waits for files to settle aside)
    waited: float = 0.0
    # Something this pass left for the next one: a conflicted copy to upload, a commit that
    # lost a race, a file that changed while it was read, a download or deletion held back.
    unsettled: bool = False

    @property
    def acted(self) -> bool:
        return bool(
            self.uploaded or self.downloaded or self.deleted_local or self.deleted_remote
            or self.conflicts
        )  # fmt: skip

    def merge(self, other: PassReport) -> None:
        for name in (
            "uploaded", "downloaded", "deleted_local", "deleted_remote", "conflicts", "detached",
            "restored", "mounted_aside", "warnings",
        ):  # fmt: skip
            getattr(self, name).extend(getattr(other, name))
        self.refused = other.refused
        self.kept_local = other.kept_local
        self.skipped = other.skipped
        self.settling = other.settling
        self.settled_in_ns = other.settled_in_ns
        self.hashed += other.hashed
        self.unsettled = other.unsettled


@dataclass(frozen=True)
class PathState:
    """One workspace path as the next pass sees it, for a UI: what it is and what the pass
    would do (`Action.NOTHING`: in sync). `blocks` are those the action moves."""

    path: str  # in the workspace
    kind: str
    size: int
    action: Action
    deleted: bool  # only a tombstone on the server (restorable from its history)
    blocks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    namespaces: list[wire.Namespace]
    paths: list[PathState]
    offline: bool  # the remote view is the last one pulled


@dataclass
class _Plan:
    mount: Mount
    path: str  # in the namespace
    local: LocalFile | None
    remote: RemoteRow | None
    action: Action

    @property
    def ws(self) -> str:
        return self.mount.prefix + self.path

    def state(self) -> PathState | None:
        local, remote = self.local, self.remote
        if local is not None:
            fetched = self.action in (Action.DOWNLOAD, Action.CONFLICT)
            moves = remote.blocks if fetched and remote else ()
            blocks = moves or local.blocks
            size = remote.size if moves and remote else local.size  # what moves, if anything
            return PathState(self.ws, local.kind, size, self.action, False, blocks)
        if remote is not None:
            return PathState(
                self.ws, remote.kind, remote.size, self.action, remote.deleted, remote.blocks
            )
        return None


def _is_dir(row: RemoteRow | SyncedRow | LocalFile | None) -> bool:
    return row is not None and row.kind == "dir"


def _content_of_local(f: LocalFile | None) -> Content | None:
    return None if f is None else Content(f.kind, f.blocks if f.kind == "file" else ())


def _version_of(row: RemoteRow | SyncedRow | None) -> Version | None:
    if row is None:
        return None
    return Version(row.version_id, None if row.deleted else Content(row.kind, row.blocks))


def _synced_from(row: RemoteRow) -> SyncedRow:
    return SyncedRow(row.namespace_id, row.path, row.version_id, row.kind, row.deleted, row.blocks)


def _remote_from(e: wire.Entry) -> RemoteRow:
    return RemoteRow(
        e.namespace_id, e.path, e.version_id, e.kind, e.size, e.mtime_ms, e.deleted,
        tuple(e.blocks),
    )  # fmt: skip


@translate_storage_errors
class SyncEngine:
    def __init__(
        self,
        client: RoostClient,
        root: Path,
        *,
        on_block: Callable[[str, int], None] | None = None,
        on_plan: Callable[[list[PathState]], None] | None = None,
        window: int = 8,
        settle_ms: int | None = None,
    ) -> None:
        tune_malloc()  # before the hashing and transfer threads start (storage.content.malloc)
        self.client = client
        self.settle_ms = settle_ms_from_env() if settle_ms is None else settle_ms
        self.root = root.resolve()
        self.index = SyncIndex(client.database)
        self.ignore = Ignore(self.root, workspace=True)
        self.on_block = on_block
        self.on_plan = on_plan  # (what this pass is about to do) before it acts; progress views
        self.window = window
        self.transfer: Transfer | None = None
        self._lock: SyncLock | None = None
        # A pull that lands after a pass's commits would turn the remote view back: one at once.
        self._journal = asyncio.Lock()
        self._warned: set[str] = set()  # warnings already said, not repeated every pass
        self.held: set[str] = set()  # server paths the last plan left alone (`_held_back`)
        self._partials: list[Path] = []  # interrupted downloads found at bind: resumed or swept
        # Other devices' large files, fetched while they upload (client.sync.streaming)
        self.incoming = StreamIn(self.root, lambda tmp: TempFile(tmp, large=True))
        self._prefixes: dict[str, str] = {}  # namespace id -> its folder here ("" the home)

    async def bind(self, *, watching: bool = False) -> None:
        """Where every engine starts: take this home's and folder's sync lock (`SyncBusy` when
        another engine holds either, before anything changes), make the folder the device's
        workspace (a different folder starts afresh), and remove the temp files of downloads
        a killed sync left behind (no other engine's can be in flight now). The lock stays
        until `release()`."""
        if self._lock is not None:
            return
        lock = await asyncio.to_thread(  # it looks through every folder inside the root
            SyncLock.acquire, self.client.home.path, self.root, watching=watching
        )
        try:
            if await self.index.root() != str(self.root):
                await self.index.bind(str(self.root))
            self._partials = await asyncio.to_thread(sweep_temp_files, self.root)
        except BaseException:
            lock.release()
            raise
        self._lock = lock

    def release(self) -> None:
        """Let another engine sync this home and folder."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @contextlib.asynccontextmanager
    async def running(self, *, watching: bool = False) -> AsyncIterator[None]:
        """Bound for the block; the lock goes at its end unless an outer block took it."""
        took = self._lock is None
        await self.bind(watching=watching)
        try:
            yield
        finally:
            if took:
                await self.incoming.close()
                self.release()

    async def run_once(self) -> PassReport:
        """Passes until nothing is left to do (or MAX_PASSES), recorded in the client home for
        `roost sync status`, failure included."""
        async with self.running():
            before = Totals.of(self.transfer.counters if self.transfer else None)
            started = time.monotonic()
            try:
                total = await self._passes()
            except BaseException as exc:
                cancelled = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
                why = sync_status.STOPPED if cancelled else str(exc) or type(exc).__name__
                self._record(PassReport(), before, error=why)
                raise
            total.moved = Totals.between(before, self.transfer.counters if self.transfer else None)
            total.seconds = time.monotonic() - started - total.waited
            self._record(total, before)
            return total

    def _record(self, report: PassReport, before: Totals, error: str | None = None) -> None:
        moved = Totals.between(before, self.transfer.counters if self.transfer else None)
        pending = [f"{p}: {why}" for p, why in report.refused + report.skipped]
        pending += [f"{p}: still being written" for p in report.settling]
        home = self.client.home.path
        last = sync_status.carry_over(
            sync_status.LastPass(
                root=str(self.root),
                finished_at_ms=sync_status.now_ms(),
                ok=error is None,
                error=error,
                uploaded=len(report.uploaded),
                downloaded=len(report.downloaded),
                deleted=len(report.deleted_local) + len(report.deleted_remote),
                conflicts=len(report.conflicts),
                pending=pending,
                totals=sync_status.totals_line(moved),
            ),
            sync_status.read(home),
            acted=report.acted,
        )
        sync_status.record(home, last)

    async def _passes(self) -> PassReport:
        total = PassReport()
        limited = 0
        for _ in range(MAX_PASSES):
            try:
                report = await self.sync_pass()
            except ServerError as exc:  # refused before it ran: the pass runs again, once
                wait = exc.retry_after if exc.code == ErrorCode.RATE_LIMITED else None
                if wait is None or limited >= RATE_LIMITED_PASSES:
                    raise
                limited += 1  # the bucket refills for a whole pass, not just one op
                await asyncio.sleep(min(max(wait, 1.0) * limited, RATE_LIMIT_WAIT_MAX))
                continue
            total.merge(report)
            if report.settling:  # files still being written: once they rest
                wait = min(max(report.settled_in_ns / 1e9, 0.05), self.settle_ms / 1000)
                await asyncio.sleep(wait)
                total.waited += wait
                continue
            # A pass that did all it planned leaves nothing for another to find (a
            # second one cost ~0.4 s per 10,000 files, re-reading its own commits).
            if not (report.acted and report.unsettled):
                break
        if self._partials and not total.unsettled:  # none of them is wanted any more
            await asyncio.to_thread(drop_partials, self._partials)
            self._partials = []
        return total

    def on_incoming(self, event: wire.FilesIncoming) -> None:
        """Another device's file on its way (`files.incoming`): fetch it meanwhile, unless
        this device does not keep that path or sent it itself."""
        prefix = self._prefixes.get(event.namespace_id)
        streams_out = self.transfer.streams_out if self.transfer else None
        if prefix is None or (streams_out and event.upload_id in streams_out.upload_ids):
            return
        ws = prefix + event.path
        if event.state == wire.IncomingState.WITHDRAWN:
            self.incoming.withdrawn(event.upload_id)
        elif event.state == wire.IncomingState.STARTED:
            if not (reserved_here(ws, False) or self.ignore.ignored(ws)):
                self.incoming.started(ws, event.upload_id)
        else:
            self.incoming.blocks(event.upload_id, event.offset, event.hashes)

    # ------------------------------------------------------------------ one pass
    async def sync_pass(self) -> PassReport:
        async with self._journal:
            return await self._sync_pass()

    async def _sync_pass(self) -> PassReport:
        conn = await self.client.connect()
        if self.transfer is None or self.transfer.conn is not conn:
            old = self.transfer.counters if self.transfer else None
            self.transfer = Transfer(conn, window=self.window, on_block=self.on_block)
            if old is not None:
                self.transfer.counters = old
            self.transfer.streams_out = StreamOut(functools.partial(call_patiently, conn))
            self.transfer.incoming = self.incoming
            self.incoming.fetch = functools.partial(self.transfer.fetch_block, counted=False)
            # blocks sent ahead during the scan wait for a commit: no more than a group's worth
            self.transfer.early_budget = early_send_bytes(await fetch_usage(conn.call))
        early = PassReport()  # before the scan: folders synced afresh or kept, files moved
        self.ignore.excluded = await self.index.excluded()
        await self._check_marker(early)
        mounts = await self._mounts(conn, early)
        self._prefixes = {m.id: m.prefix for m in mounts}
        self.ignore.shares = {m.prefix[:-1] for m in mounts if m.prefix}  # their rule files
        for mount in mounts:
            await self._pull(conn, mount)
        self.ignore.detached = await self.index.detached()
        scanning = [True]  # offers that arrive after the pass are dropped
        settling: set[str] = set()  # large files read early, committed once they rest
        try:
            found = await scan(
                self.root,
                self.ignore,
                self.index,
                self._sender(mounts, scanning),
                settle_ns=self.settle_ms * 1_000_000,
            )
            settling.update(found.settling)
            report = PassReport(
                hashed=found.hashed,
                skipped=found.skipped,
                settling=found.settling,
                settled_in_ns=found.settled_in_ns,
                detached=early.detached,
                conflicts=early.conflicts,
                restored=early.restored,
                mounted_aside=early.mounted_aside,
            )
            report.refused += [(p or ".", UNREADABLE) for p in found.unreadable]
            report.refused += await asyncio.to_thread(
                excluded_notes, self.root, self.ignore.excluded
            )
            await self._act(mounts, found, report)
            warnings = [*early.warnings, *(f"{p}: {HELD_BACK}" for p in sorted(self.held))]
            self._warn(report, warnings + self.ignore.problems)
        finally:
            scanning[0] = False
            prefixes = self._prefixes
            if not settling:  # else their blocks go on travelling while they settle
                self.transfer.forget_early()
            if self.transfer.streams_out is not None:  # what no commit took is withdrawn
                await self.transfer.streams_out.close(
                    keep=lambda ns, path: prefixes.get(ns, "\0") + path in settling
                )
            self.incoming.sweep()
        return report

    def _sender(self, mounts: list[Mount], scanning: list[bool]) -> OnChunk:
        """Offer the blocks of large files being hashed to the transfer, so they travel while
        the scan goes on; a read-only share's files are never sent."""
        transfer, loop = self.transfer, asyncio.get_running_loop()
        assert transfer is not None
        shares = {m.prefix[:-1]: m for m in mounts if m.prefix}

        home = next(m for m in mounts if not m.prefix)

        def offer(h: str, src: BlockSource, ns_id: str, rel: str) -> None:  # on the event loop
            if scanning[0]:
                transfer.offer(h, src)
                if transfer.streams_out is not None:  # announced, so others fetch it meanwhile
                    transfer.streams_out.chunk(ns_id, rel, h)

        def on_chunk(path: Path, chunk: Chunk) -> None:  # in a hashing thread
            ws = path.relative_to(self.root).as_posix()
            top, _, rest = ws.partition("/")
            share = shares.get(top) if rest else None
            if share is None or not share.read_only:
                src = BlockSource(path, chunk.offset, chunk.length)
                ns_id, rel = (share.id, rest) if share else (home.id, ws)
                loop.call_soon_threadsafe(offer, chunk.hash, src, ns_id, rel)

        return on_chunk

    async def _act(self, mounts: list[Mount], found: ScanResult, report: PassReport) -> None:
        plans = await self._rules_first(mounts, found, report)
        if self.on_plan:
            self.on_plan([s for p in plans if (s := p.state()) is not None])
        local_sources: dict[str, BlockSource] = {}
        for rel, f in found.files.items():
            if f.kind == "file":
                for h, src in sources_of(self.root / rel, f.chunks).items():
                    local_sources.setdefault(h, src)
        await self._apply(plans, found, local_sources, report)

    async def _rules_first(
        self, mounts: list[Mount], found: ScanResult, report: PassReport
    ) -> list[_Plan]:
        """The plan, with a share's new ignore rules fetched first and applied to it: else a
        member's first sync fetches, and a file written as the rules change is sent, though
        the rules keep it off."""
        plans = await self._plan(mounts, found)
        rules = [p for p in plans if p.action == Action.DOWNLOAD and self.ignore.is_rule_file(p.ws)]
        if not rules:
            return plans
        await self._apply(rules, found, {}, report)
        self.ignore.reload()
        for rel in [r for r, f in found.files.items() if self.ignore.ignored(r, _is_dir(f))]:
            del found.files[rel]
        report.unsettled = True  # what they no longer ignore was not scanned: the next pass
        fetched = {p.ws for p in rules}  # not on the scan's list, yet no deletion
        return [p for p in await self._plan(mounts, found) if p.ws not in fetched]

    def _warn(self, report: PassReport, now: list[str]) -> None:
        """Report each warning the first pass it holds, not every pass while it does."""
        report.warnings += [w for w in now if w not in self._warned]
        self._warned = set(now)

    async def preview(self) -> Preview:
        """What the next pass would do to every path, without doing it: pull the journals when
        the server is reachable and no pass is running (else use the last remote view), scan,
        decide. Its namespaces carry the names this workspace shows them under."""
        listed = await self.client.read("files.namespaces", None, cache_key="mine")
        offline = listed.offline
        folders = await self._mount_points(listed.result.namespaces)
        namespaces = [
            ns if ns.kind == "home" else msgspec.structs.replace(ns, name=folders[ns.id])
            for ns in listed.result.namespaces
        ]
        mounts = [Mount(ns, "" if ns.kind == "home" else ns.name + "/") for ns in namespaces]
        if not offline and not self._journal.locked():  # else a running pass is pulling
            try:
                async with self._journal:
                    conn = await self.client.connect()
                    for mount in mounts:
                        await self._pull(conn, mount)
            except Unreachable:
                offline = True
        self.ignore.excluded = await self.index.excluded()
        self.ignore.shares = {m.prefix[:-1] for m in mounts if m.prefix}
        found = await scan(self.root, self.ignore, self.index, rename=False)  # changes nothing
        # A folder that lost its marker is synced afresh (`_check_marker`): show it so.
        afresh = not (self.root / MARKER).is_file()
        afresh = afresh or await self.index.root() != str(self.root)  # not this device's yet
        plans = await self._plan(mounts, found, everything=True, afresh=afresh)
        states = [s for p in plans if (s := p.state()) is not None]
        return Preview(namespaces, sorted(states, key=lambda s: s.path), offline)

    async def _mount_points(self, namespaces: list[wire.Namespace]) -> dict[str, str]:
        """Each share's folder in this workspace: where it was mounted before, else its own
        name when nothing of this device's is there (`client.sync.mounts`)."""
        before = await self.index.mounts()
        if settled(namespaces, before):  # every pass but the first after a share arrives
            return mount_points(namespaces, before, on_disk=set(), synced_before=set())
        home = next((ns for ns in namespaces if ns.kind == "home"), None)
        home_tops = await self.index.top_level_names(home.id) if home else set()
        synced_before = {
            ns.id for ns in namespaces if ns.kind == "shared" and await self.index.has_synced(ns.id)
        }
        on_disk = await asyncio.to_thread(_top_names, self.root)
        return mount_points(
            namespaces,
            before,
            on_disk=on_disk | home_tops | await self.index.detached(),
            synced_before=synced_before,
        )

    async def _mounts(self, conn: Connection, report: PassReport) -> list[Mount]:
        listed: wire.NamespaceList = await conn.call("files.namespaces")
        current = {ns.id for ns in listed.namespaces}
        before = await self.index.mounts()
        for gone in (await self.index.namespaces_known() | set(before)) - current:
            if gone in before:  # removed from a share: keep the copy here, out of the home
                kept = await self._detach(before[gone])
                if kept is not None:
                    report.detached.append(kept)
            await self.index.forget_namespace(gone)
        folders = await self._mount_points(listed.namespaces)
        mounts = [
            Mount(ns, "" if ns.kind == "home" else folders[ns.id] + "/") for ns in listed.namespaces
        ]
        for m in mounts:
            if not m.prefix:
                continue
            folder = m.prefix[:-1]
            was = before.get(m.id)
            if was is None and await self.index.has_synced(m.id):
                was = m.namespace.name  # an older client synced it under its name
            if was is not None and was != folder:  # its base described another folder
                await self.index.forget_synced(m.id)
            if folder != m.namespace.name and before.get(m.id) != folder:
                report.mounted_aside.append(MountAside(m.namespace.name, m.namespace.owner, folder))
            if excluded_by(folder, self.ignore.excluded):
                continue  # kept off this device (roost sync exclude): not made, not restored
            whole = "" in report.restored  # the workspace itself is synced afresh
            if not whole and before.get(m.id) == folder and not (self.root / folder).is_dir():
                # Gone as a whole: a member renamed or deleted the share's folder. Taken as
                # deletions, that would empty it for everyone; it comes back instead.
                await self.index.forget_synced(m.id)
                report.restored.append(folder)
            if moved := self._make_mount_point(folder):
                report.conflicts.append(moved)
        await self.index.put_mounts({m.id: m.prefix[:-1] for m in mounts if m.prefix})
        return mounts

    async def _check_marker(self, report: PassReport) -> None:
        """The marker file says this is the folder synced before. Without it (the folder was
        deleted and made again, replaced by another, or a drive is not mounted where it was),
        the base would read every path as deleted here, and delete it on the server and every
        device: the pass starts afresh instead, as Syncthing stops on a missing folder marker."""
        marker = self.root / MARKER
        if marker.is_file():
            return
        if marker.is_dir():  # not ours, and never uploaded (ignored): no base to trust
            await self.index.forget_synced()
            report.warnings.append(MARKER_IS_A_FOLDER)
            return
        if await self.index.has_synced():
            await self.index.forget_synced()
            report.restored.append("")
        marker.write_text("Roost syncs this folder; keep this file (roost sync --help).\n")

    def _make_mount_point(self, folder: str) -> str | None:
        """The folder a share shows in. A file of that name here (made on this device before
        the share reached it) is kept as a conflicted copy beside it, and uploaded as one:
        returns that copy's name."""
        moved = self._move_aside(folder)
        (self.root / folder).mkdir(exist_ok=True)
        return moved

    def _clear_way(self, ws: str, report: PassReport) -> None:
        """Before a download: a file of this device's where the path needs a folder is kept
        as a conflicted copy beside it (uploaded by the next pass), never written over."""
        for folder in wire.folders_above(ws):
            if moved := self._move_aside(folder):
                report.conflicts.append(moved)
                report.unsettled = True

    def _move_aside(self, rel: str) -> str | None:
        """Rename what is at `rel` to a conflicted copy unless it is a folder (or nothing)."""
        path = self.root / rel
        if not path.is_symlink() and (path.is_dir() or not path.exists()):
            return None
        parent = rel.rpartition("/")[0]
        taken = {f"{parent}/{n}" if parent else n for n in os.listdir(path.parent)}
        moved = conflicted_copy_name(rel, self._device(), datetime.now(), taken)
        path.rename(self.root / moved)
        return moved

    async def _detach(self, folder: str) -> str | None:
        """A share this device no longer belongs to: its folder is renamed "NAME (unshared)"
        and kept on this device only, never uploaded into the home (as Dropbox leaves a
        removed member a copy). Renaming it again makes it an ordinary folder that syncs."""
        path = self.root / folder
        if not path.is_dir() or not any(path.iterdir()):
            with contextlib.suppress(OSError):
                path.rmdir()  # nothing to keep
            return None
        kept, n = wire.kept_copy_name(folder), 1
        while (self.root / kept).exists():
            n += 1
            kept = wire.kept_copy_name(folder, n)
        await self.index.detach(kept)  # first, so a crash leaves it ignored, never uploaded
        os.replace(path, self.root / kept)
        return kept

    async def _pull(self, conn: Connection, mount: Mount) -> None:
        since = await self.index.cursor(mount.id)
        while True:
            page: wire.Changes = await conn.call(
                "files.changes", wire.GetChanges(mount.id, since, 1000)
            )
            await self.index.put_remote(
                [_remote_from(e) for e in page.entries], (mount.id, page.seq)
            )
            since = page.seq
            if not page.more:
                return

    async def _plan(
        self,
        mounts: list[Mount],
        found: ScanResult,
        *,
        everything: bool = False,
        afresh: bool = False,
    ) -> list[_Plan]:
        shares = {m.prefix[:-1]: m for m in mounts if m.prefix}
        home = next(m for m in mounts if not m.prefix)
        self.held = set()
        local_by_mount: dict[str, dict[str, LocalFile]] = {m.id: {} for m in mounts}
        for ws, f in found.files.items():
            top, _, rest = ws.partition("/")
            if top in shares:
                if rest:
                    local_by_mount[shares[top].id][rest] = f
            else:
                local_by_mount[home.id][ws] = f
        plans: list[_Plan] = []
        settling = set(found.settling)
        home_synced = {} if afresh else await self.index.synced(home.id)
        for m in mounts:
            synced = await self.index.synced(m.id) if m.prefix and not afresh else home_synced
            remote = await self.index.remote(m.id)
            local = local_by_mount[m.id]
            for path in set(synced) | set(remote) | set(local):
                if not m.prefix and path.partition("/")[0] in shares:
                    continue  # moved into a share: the mount owns these paths now
                if found.unreadable and within(m.prefix + path, found.unreadable):
                    continue  # not known here: neither deleted nor written over
                if m.prefix + path in settling:
                    continue  # still being written: neither sent, deleted nor written over
                lf, rr = local.get(path), remote.get(path)
                base = synced.get(path)
                if self._held_back(m.prefix + path, rr or base):
                    continue  # the engine's own name: never synced, whatever the server holds
                if lf is None and self.ignore.ignored(m.prefix + path, _is_dir(rr or base)):
                    continue  # ignored here: neither deleted on the server nor fetched
                if base is None and m.prefix:  # the folder was ours before it was shared:
                    base = home_synced.get(m.prefix + path)  # what we agreed on then
                action = decide(_content_of_local(lf), _version_of(base), _version_of(rr))
                if m.read_only:
                    action = for_viewer(action, _content_of_local(lf), _version_of(rr))
                if action != Action.NOTHING or everything:
                    plans.append(_Plan(m, path, lf, rr, action))
        return plans

    def _held_back(self, ws: str, remote: RemoteRow | SyncedRow | None) -> bool:
        """A path that is the engine's own on one side: a remote folder (or anything inside
        it) where the engine keeps its ignore file or marker, a temp file's name, or the
        ignore file's name on the server while a folder of that name is here. Such a thing
        on the server (an older one let it in) is noted in `held`."""
        held = reserved_here(ws, _is_dir(remote))
        held = held or (ws == IGNORE_FILE and (self.root / ws).is_dir())
        if held and remote is not None:
            temp = ws.rpartition("/")[2].casefold().startswith(TEMP_PREFIX)
            self.held.add(ws if temp else ws.partition("/")[0])
        return held

    # ------------------------------------------------------------------ acting
    async def _apply(
        self,
        plans: list[_Plan],
        found: ScanResult,
        local_sources: dict[str, BlockSource],
        report: PassReport,
    ) -> None:
        by = {a: sorted((p for p in plans if p.action == a), key=lambda p: p.ws) for a in Action}
        taken = set(found.files)
        for p in by[Action.CONFLICT]:
            assert p.local is not None
            copy = conflicted_copy_name(p.ws, self._device(), datetime.now(), taken)
            taken.add(copy)
            os.replace(self.root / p.ws, self.root / copy)
            report.conflicts.append(copy)
            report.unsettled = True  # the copy is uploaded by the next pass
        records: list[SyncedRow] = [_synced_from(p.remote) for p in by[Action.RECORD] if p.remote]
        hashed: list[LocalRow] = []
        big_slots = asyncio.Semaphore(self.window)  # several files at once, each `window` blocks
        small_slots = asyncio.Semaphore(self.window * SMALL_FILES_FACTOR)  # one block each

        async def download(p: _Plan) -> None:
            small = p.remote is not None and p.remote.size <= SMALL_FILE_BYTES
            async with small_slots if small else big_slots:
                await self._download(p, found, local_sources, report, records, hashed)

        for p in by[Action.CONFLICT] + by[Action.DOWNLOAD]:
            if p.remote is not None and p.remote.kind == "dir":
                await download(p)  # folders first, in path order
        async with first_error(), asyncio.TaskGroup() as group:
            for p in by[Action.CONFLICT] + by[Action.DOWNLOAD]:
                if p.remote is not None and p.remote.kind != "dir":
                    group.create_task(download(p))
        await self.index.put_local(hashed)
        # A folder turned into a file: the server takes the file once the folder is empty.
        emptied = [u.ws for u in by[Action.UPLOAD] if _is_dir(u.remote) and not _is_dir(u.local)]
        first = [p for p in by[Action.DELETE_REMOTE] if emptied and within(p.ws, emptied)]
        await self._delete_remote(first, report)
        await self._upload(by[Action.UPLOAD], report)
        await self._delete_remote([p for p in by[Action.DELETE_REMOTE] if p not in first], report)
        for p in sorted(by[Action.DELETE_LOCAL], key=lambda p: p.ws, reverse=True):
            if self._delete_local(p, found):
                report.deleted_local.append(p.ws)
                assert p.remote is not None
                records.append(_synced_from(p.remote))
            else:  # changed since the scan, or new files inside: the next pass decides
                report.unsettled = True
        report.kept_local.extend(p.ws for p in by[Action.KEEP_LOCAL])
        if records:
            await self.index.put_synced(records)

    def _device(self) -> str:
        return self.client.home.require_account().device_name

    async def _download(
        self,
        p: _Plan,
        found: ScanResult,
        local_sources: dict[str, BlockSource],
        report: PassReport,
        records: list[SyncedRow],
        hashed: list[LocalRow],
    ) -> None:
        assert self.transfer is not None and p.remote is not None
        remote, dest = p.remote, self.root / p.ws
        if (
            p.action == Action.DOWNLOAD
            and p.local is not None
            and _changed_since_scan(dest, p.local)
        ):
            report.unsettled = True  # edited after the scan: the next pass decides again
            return
        self._clear_way(p.ws, report)
        if remote.kind == "dir":
            dest.mkdir(parents=True, exist_ok=True)
        else:
            blocks = list(remote.blocks)
            lengths = await self.transfer.download(
                blocks,
                dest,
                mtime_ms=remote.mtime_ms,
                local=local_sources,
                size=remote.size,
                resumable=True,
            )
            st = dest.stat()
            chunks = tuple(zip(blocks, lengths, strict=True))
            hashed.append(LocalRow(p.ws, st.st_size, st.st_mtime_ns, st.st_ino, chunks))
            for h, src in sources_of(dest, chunks).items():
                local_sources.setdefault(h, src)
        records.append(_synced_from(remote))
        report.downloaded.append(p.ws)

    async def _upload(self, plans: list[_Plan], report: PassReport) -> None:
        assert self.transfer is not None
        by_mount: dict[str, list[_Plan]] = {}
        for p in plans:
            by_mount.setdefault(p.mount.id, []).append(p)
        usage = await fetch_usage(self.transfer.conn.call) if plans else None
        budget = upload_group_bytes(usage)
        for ns_id, group in by_mount.items():
            group = [p for p in group if not self._refused_for_size(p, usage, report)]
            # The server lets only so much wait for a commit: a large pass commits as it goes.
            for part in upload_groups([p.local.size if p.local else 0 for p in group], budget):
                await self._upload_group(ns_id, [group[i] for i in part], report)

    async def _upload_group(self, ns_id: str, group: list[_Plan], report: PassReport) -> None:
        assert self.transfer is not None
        sources: dict[str, BlockSource] = {}
        for p in group:
            assert p.local is not None
            sources.update(sources_of(self.root / p.ws, p.local.chunks))
        unreadable = await self.transfer.upload(ns_id, sources)
        if unreadable:  # changed under us: the next pass rescans and retries those
            report.unsettled = True
            group = [p for p in group if p.local and not unreadable & set(p.local.blocks)]
        items = [
            wire.CommitItem(
                path=p.path,
                parent_id=p.remote.version_id if p.remote else None,
                kind=wire.Kind(p.local.kind),
                size=p.local.size,
                mtime_ms=p.local.mtime_ns // 1_000_000,
                blocks=list(p.local.blocks) if p.local.kind == "file" else None,
            )
            for p in group
            if p.local is not None
        ]
        await self._commit(ns_id, group, items, report.uploaded, report)

    def _refused_for_size(self, p: _Plan, usage: Usage | None, report: PassReport) -> bool:
        """A file over the server's size limit is reported, not uploaded: every pass would
        send its bytes only to have the commit refused."""
        problem = upload_problem(p.ws, p.local.size, usage) if p.local else None
        if problem:
            report.refused.append((p.ws, problem))
        return problem is not None

    async def _delete_remote(self, plans: list[_Plan], report: PassReport) -> None:
        by_mount: dict[str, list[_Plan]] = {}
        for p in sorted(plans, key=lambda p: p.ws, reverse=True):
            by_mount.setdefault(p.mount.id, []).append(p)
        for ns_id, group in by_mount.items():
            items = [
                wire.CommitItem(
                    path=p.path,
                    parent_id=p.remote.version_id if p.remote else None,
                    kind=wire.Kind(p.remote.kind if p.remote else "file"),
                    deleted=True,
                )
                for p in group
            ]
            await self._commit(ns_id, group, items, report.deleted_remote, report)

    async def _commit(
        self,
        ns_id: str,
        group: list[_Plan],
        items: list[wire.CommitItem],
        done: list[str],
        report: PassReport,
    ) -> None:
        assert self.transfer is not None
        outcomes = await self.transfer.commit(ns_id, items)
        remote_rows: list[RemoteRow] = []
        for p, outcome in zip(group, outcomes, strict=True):
            if outcome.entry is None:  # usually a race: the next pass pulls and decides again
                report.unsettled = True
                report.refused.append((p.ws, outcome.message or outcome.code or "refused"))
                continue
            remote_rows.append(_remote_from(outcome.entry))
            done.append(p.ws)
        await self.index.put_remote(remote_rows, None)
        await self.index.put_synced([_synced_from(r) for r in remote_rows])

    def _delete_local(self, p: _Plan, found: ScanResult) -> bool:
        path = self.root / p.ws
        if p.local is None:
            return True
        if p.local.kind == "dir":
            with contextlib.suppress(FileNotFoundError):
                try:
                    path.rmdir()
                except OSError:
                    return False  # new local files inside: they will be uploaded
            return True
        if _changed_since_scan(path, p.local):
            return False
        path.unlink(missing_ok=True)
        return True


def _top_names(root: Path) -> set[str]:
    try:
        return set(os.listdir(root))
    except FileNotFoundError:
        return set()


def _changed_since_scan(path: Path, seen: LocalFile) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return True
    return (st.st_size, st.st_mtime_ns) != (seen.size, seen.mtime_ns)


__all__ = ["ClientError", "PassReport", "PathState", "Preview", "SyncEngine"]
