"""Files: this device's workspace as a tree with each path's sync state, the sync engine run
in a worker (s) with its progress, version history and restore (h), sharing (m), and the
invitations to shares waiting for an answer, above the tree (a accepts, x declines).

Without a bound workspace it shows the server's files (through the cache, so offline too) and
how to bind one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import msgspec
from textual import on, work
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, ProgressBar, Static, Tree

from client.display import safe_text
from client.errors import ClientError, SyncBusy, Unreachable
from client.events import (
    FilesChanged,
    ShareInvitationChanged,
    ShareMembershipChanged,
    WriteAcked,
)
from client.files import locate_in
from client.sync import status as sync_status
from client.sync.engine import (
    PassReport,
    PathState,
    SyncEngine,
    mounted_aside_note,
    restored_note,
)
from client.sync.watch import run_forever
from client.workspace_folder import make_workspace_folder
from protocol import files as wire
from tui.client_events import ClientEventReceived
from tui.screens.base import RoostScreen
from tui.screens.conflict import ConflictScreen
from tui.screens.file_history import FileHistoryScreen
from tui.screens.share import ShareScreen
from tui.screens.workspace import WorkspaceScreen
from tui.widgets.files import (
    FileRow,
    FileTree,
    TransferProgress,
    rows_from_listing,
    rows_from_preview,
    with_queued_restores,
)

NO_WORKSPACE_HINT = (
    "No folder is bound on this device: these are your files on the server. Press w to choose"
    " or create the folder to keep in sync (or run `roost sync DIR` in a terminal)."
)
CONFLICT_HINT = (
    "{n} conflicted cop{ies}: two devices changed the same file. Select a copy and press k to"
    " see the difference and keep mine, theirs or both."
)
EXCLUDED = "excluded"  # a folder kept off this device (e brings it back)


def with_excluded(rows: list[FileRow], excluded: set[str]) -> list[FileRow]:
    """The folders kept off this device shown as such: a share's own row says it, any other
    excluded folder gets a row (the workspace has nothing of it to list)."""
    back = "not on this device: e brings it back"
    out = [
        dataclasses.replace(r, state=EXCLUDED, detail=f"{r.detail} · {back}")
        if r.path in excluded
        else r
        for r in rows
    ]
    known = {r.path for r in rows}
    return out + [FileRow(f, "dir", 0, EXCLUDED, back) for f in sorted(excluded - known)]


def last_pass_line(last: sync_status.LastPass | None, waiting: int) -> str:
    """`last pass 14:02:11 · everything in sync · `: when the engine last finished, and
    whether anything is left (empty before the first pass)."""
    if last is None:
        return ""
    when = datetime.fromtimestamp(last.finished_at_ms / 1000).astimezone()
    said = f"last pass {when:%H:%M:%S}"
    if not last.ok:
        said += f" · stopped: {last.error or 'failed'}"
    elif waiting or last.pending:
        said += f" · {max(waiting, len(last.pending))} waiting"
    else:
        said += " · everything in sync"
    return said + " · "


def shown_root(root: Path) -> str:
    home = str(Path.home())
    text = str(root)
    return "~" + text[len(home) :] if home != "/" and text.startswith(home + os.sep) else text


class FilesScreen(RoostScreen):
    BINDINGS = [
        Binding("s", "toggle_sync", "Sync on/off"),
        Binding("w", "choose_workspace", "Folder"),
        Binding("h", "history", "History"),
        Binding("m", "share", "Share"),
        Binding("d", "toggle_deleted", "Deleted"),
        Binding("a", "accept_invitation", "Accept share"),
        Binding("x", "decline_invitation", "Decline share"),
        # Shown in the hint and the selected row's line, not the footer (tui-keys owns it).
        Binding("k", "resolve_conflict", "Resolve conflict", show=False),
        Binding("e", "toggle_excluded", "Keep here/not", show=False),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.engine: SyncEngine | None = None
        self.namespaces: list[wire.Namespace] = []
        self.progress = TransferProgress()
        self.show_deleted = False
        self.syncing = False
        self._rows: list[FileRow] = []
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._offline = False
        self._busy: str | None = None  # why sync could not start: another process syncs
        self.invitations: list[wire.Invitation] = []  # shares offered, not answered yet

    def compose_body(self) -> Iterable[Widget]:
        yield Static(id="files-title", classes="section-title")
        yield Static(id="files-hint")
        invitations: DataTable[str] = DataTable(id="invitations", cursor_type="row")
        yield invitations
        yield FileTree("Files", id="files-tree")
        yield Static(id="file-detail")
        yield ProgressBar(id="sync-progress", show_eta=False)

    @property
    def files_tree(self) -> FileTree:
        return self.query_one("#files-tree", FileTree)

    @property
    def invitation_table(self) -> DataTable[str]:
        return self.query_one("#invitations", DataTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#sync-progress", ProgressBar).display = False
        self.invitation_table.add_columns("invited to", "by", "as")
        self.invitation_table.display = False
        self.files_tree.focus()
        self.set_interval(0.25, self._paint_progress)
        self.watch(self.app, "link_state", self._link_changed, init=False)
        self.load()

    # ------------------------------------------------------------------ reading
    @work(exclusive=True, group="files-load")
    async def load(self) -> None:
        client = self.roost.client
        root = await client.workspace()
        try:
            if root is None:
                listing = await client.files.listing()
                self.namespaces, self._offline = listing.namespaces, listing.offline
                label = "Your files on the server"
                self._rows = rows_from_listing(listing)
            else:
                engine = self._engine(root)
                preview = await engine.preview()
                self.namespaces, self._offline = preview.namespaces, preview.offline
                label = shown_root(engine.root)
                self._rows = with_excluded(
                    rows_from_preview(preview), await engine.index.excluded()
                )
        except Unreachable:
            self._title("offline, and nothing cached yet")
            self._hint("The files show here once the server has been reached.")
            return
        except ClientError as exc:
            self._hint(f"cannot list files: {exc}")
            return
        await self._load_invitations()
        self._rows = with_queued_restores(self._rows, await self._queued_restores())
        rows = [r for r in self._rows if self.show_deleted or not r.deleted]
        self.files_tree.show(label, rows, self.progress)
        self._describe(root is not None)
        # after the tree has put its cursor back on the rebuilt rows (same line: no event)
        self.call_after_refresh(self._detail_selected)

    async def _load_invitations(self) -> None:
        """Shares offered to this user, shown above the tree until they answer (a / x)."""
        try:
            answer = await self.roost.client.files.cached_shares()
        except ClientError:
            return  # offline with nothing cached: nothing known to show
        if answer.result.invitations == self.invitations:
            return
        self.invitations = answer.result.invitations
        table = self.invitation_table
        table.clear()
        for i in self.invitations:
            table.add_row(f"{i.folder}/", f"@{i.owner}", i.role, key=i.id)
        table.display = bool(self.invitations)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("accept_invitation", "decline_invitation"):
            return bool(self.invitations)  # the keys show only while an invitation waits
        return super().check_action(action, parameters)

    def _chosen_invitation(self) -> wire.Invitation | None:
        if not self.invitations:
            self.notify("no invitation to a shared folder is waiting")
            return None
        row = self.invitation_table.cursor_row
        return self.invitations[row if 0 <= row < len(self.invitations) else 0]

    def action_accept_invitation(self) -> None:
        if (invitation := self._chosen_invitation()) is not None:
            self.answer_invitation(invitation, accept=True)

    def action_decline_invitation(self) -> None:
        if (invitation := self._chosen_invitation()) is not None:
            self.answer_invitation(invitation, accept=False)

    @work(exclusive=True, group="files-invitation")
    async def answer_invitation(self, invitation: wire.Invitation, *, accept: bool) -> None:
        files = self.roost.client.files
        try:
            if accept:
                info = await files.accept(invitation.id)
                self.notify(f"accepted: {info.folder}/ from @{info.owner} (you are {info.role})")
            else:
                await files.decline(invitation.id)
                self.notify(f"declined {invitation.folder}/ from @{invitation.owner}")
        except ClientError as exc:
            self.notify(f"cannot answer the invitation: {exc}", severity="error")
        if self.syncing:
            self._wake.set()  # the pass mounts the share; the tree reloads after it
        self.load()

    async def _queued_restores(self) -> set[str]:
        spaces = {ns.id: ns for ns in self.namespaces}
        paths: set[str] = set()
        for entry in await self.roost.client.outbox.entries():
            if entry.op != "files.restore":
                continue
            args = msgspec.json.decode(entry.args, type=wire.Restore)
            ns = spaces.get(args.namespace_id)
            if ns is not None:
                paths.add(args.path if ns.kind == "home" else f"{ns.name}/{args.path}")
        return paths

    def _link_changed(self, state: str) -> None:
        if state == "connected":
            self.back_online()

    @work(exclusive=True, group="files-online")
    async def back_online(self) -> None:
        """Once the outbox has been replayed: pull what changed meanwhile, and sync."""
        await self.roost.client.wait_replayed()
        self._wake.set()
        self.load()

    def _engine(self, root: Path) -> SyncEngine:
        self.engine = self.roost.client.sync(
            root, on_block=self.progress.block, on_plan=self._planned
        )
        return self.engine

    def _describe(self, bound: bool) -> None:
        shown = " · deleted shown (d hides)" if self.show_deleted else ""
        if not bound:
            offline = " · offline: last known" if self._offline else ""
            self._title(f"Server files{offline}{shown}")
            self._hint(NO_WORKSPACE_HINT)
            return
        state = "sync on" if self.syncing else "sync off (s starts it)"
        offline = " · offline: last known" if self._offline else ""
        self._title(f"Workspace · {state}{offline}{shown}")
        copies = sum(1 for r in self._rows if r.conflicted_copy and not r.deleted)
        pending = sum(1 for r in self._rows if r.state in ("pending", "conflict"))
        if self._busy and not self.syncing:
            self._hint(self._busy)
        elif copies:
            self._hint(CONFLICT_HINT.format(n=copies, ies="y" if copies == 1 else "ies"))
        elif pending and not self.syncing:
            self._hint(f"{pending} change(s) waiting: press s to sync")
        else:
            last = sync_status.read(self.roost.client.home.path)
            if last is not None and (self.engine is None or last.root != str(self.engine.root)):
                last = None  # a pass over the folder bound before
            last_line = last_pass_line(last, pending)
            self._hint(
                f"{last_line}h: history and restore · m: share a top-level folder"
                " · d: deleted files · w: another folder"
            )

    @on(Tree.NodeHighlighted, "#files-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[FileRow]) -> None:
        self._detail(event.node.data)

    def _detail_selected(self) -> None:
        if self.is_attached:  # not when the app is closing
            self._detail(self.files_tree.selected_row)

    def _detail(self, row: FileRow | None) -> None:
        text = ""
        if row is not None:
            text = f"{row.path}: {row.state}" + (f" ({row.detail})" if row.detail else "")
            if row.conflicted_copy:
                text += " · k: see the difference, keep mine, theirs or both"
            elif row.kind != "file" and row.state != EXCLUDED and self.engine is not None:
                text += " · e: keep it off this device"
        self.query_one("#file-detail", Static).update(safe_text(text))

    def action_reload(self) -> None:
        self.load()

    def action_toggle_deleted(self) -> None:
        self.show_deleted = not self.show_deleted
        self.load()

    # ------------------------------------------------------------------ syncing
    def action_choose_workspace(self) -> None:
        if self.syncing:
            self.notify("sync is on: press s to stop it before choosing another folder")
            return
        current = self.engine.root if self.engine is not None else None
        self.app.push_screen(
            WorkspaceScreen(current, self.roost.client.home.path), self._workspace_chosen
        )

    def _workspace_chosen(self, folder: Path | None) -> None:
        if folder is not None:
            self.bind_workspace(folder)

    @work(exclusive=True, group="files-bind")
    async def bind_workspace(self, folder: Path) -> None:
        """Make the folder if missing, bind it as this device's workspace, and sync it."""
        try:
            made = await asyncio.to_thread(make_workspace_folder, folder)
            engine = self._engine(folder)
            await engine.bind()  # refused (SyncBusy) while `roost sync` runs elsewhere
            engine.release()  # the sync below takes the lock again, for as long as it runs
        except ClientError as exc:
            self.notify(f"cannot use {folder}: {exc}", severity="error")
            return
        self.notify(f"{'made and ' if made else ''}syncing {shown_root(folder)}")
        self._busy = None
        self.load()
        self.run_sync()

    def action_toggle_sync(self) -> None:
        if self.engine is None:
            self.notify("no workspace on this device: press w to choose or create a folder")
            return
        if self.syncing:
            self._stop.set()
            return
        self.run_sync()

    @work(exclusive=True, group="files-sync")
    async def run_sync(self) -> None:
        assert self.engine is not None
        self.syncing = True
        self._busy = None
        self._stop = asyncio.Event()
        self._describe(True)
        try:
            await run_forever(
                self.engine, self._stop, self._synced, self._sync_offline, wake=self._wake
            )
        except SyncBusy as exc:
            self._busy = str(exc)  # shown in place of the hint until a sync starts here
        except ClientError as exc:
            self.notify(f"sync stopped: {exc}", severity="error")
        finally:
            self.syncing = False
            self.progress.clear()
            if self.is_attached:  # not when the app is closing
                self._paint_progress()
                self.load()

    def _planned(self, states: list[PathState]) -> None:
        self.progress.plan(states)
        if any(path not in self.files_tree.rows for path in self.progress.total):
            self.load()  # new files: show them while they move

    def _synced(self, report: PassReport) -> None:
        self.progress.clear()
        for copy in report.conflicts:
            self.notify(f"conflict: kept both; your copy is {copy}", severity="warning")
        for folder in report.restored:
            self.notify(restored_note(folder), severity="warning")
        for aside in report.mounted_aside:
            self.notify(mounted_aside_note(aside), severity="warning")
        for warning in report.warnings:
            self.notify(warning, severity="warning")
        for path, why in report.refused:
            self.notify(f"not synced yet: {path}: {why}", severity="warning")
        self.load()

    def _sync_offline(self, why: str, delay: float) -> None:
        self._title(f"Workspace · sync waiting: {why}; retrying in {delay:.0f} s")

    def _paint_progress(self) -> None:
        bar = self.query_one("#sync-progress", ProgressBar)
        done, total = self.progress.bytes
        bar.display = total > 0
        if total:
            bar.update(total=total, progress=done)
            self.files_tree.show_progress(self.progress)

    async def on_client_event_received(self, received: ClientEventReceived) -> None:
        match received.event:
            case FilesChanged() | ShareMembershipChanged() | ShareInvitationChanged():
                if self.syncing:
                    self._wake.set()  # the engine's pass pulls the change, then the tree reloads
                else:
                    self.load()
            case WriteAcked(op=op) if op.startswith("files."):
                self.load()  # a queued restore or share reached the server

    # ------------------------------------------------------------------ dialogs
    @on(Tree.NodeSelected, "#files-tree")
    def _selected(self, event: Tree.NodeSelected[FileRow]) -> None:
        if event.node.data is not None and event.node.data.kind == "file":
            self.action_history()  # Enter on a file: its versions

    def action_history(self) -> None:
        row = self.files_tree.selected_row
        if row is None or row.kind != "file":
            self.notify("select a file to see its versions")
            return
        if not self.namespaces:
            return
        where = locate_in(self.namespaces, row.path)
        self.app.push_screen(FileHistoryScreen(where, row.path), self._restored)

    def _restored(self, restored: bool | None) -> None:
        if restored:
            if self.syncing:
                self._wake.set()
            else:
                self.load()

    def action_share(self) -> None:
        row = self.files_tree.selected_row
        top = row.path.partition("/")[0] if row else ""
        top_row = self.files_tree.rows.get(top)
        if top_row is None or top_row.kind == "file":
            self.notify("select a top-level folder to share")
            return
        share = top_row.share
        owner = share.owner if share is not None and share.role != wire.Role.OWNER else None
        shared_as = share.id if share is not None else None  # its name here may be its own
        self.app.push_screen(ShareScreen(top, owner, shared_as), self._shared)

    def _shared(self, _: None) -> None:
        self.load()

    def action_resolve_conflict(self) -> None:
        from client.sync.conflicts import parse_copy_name

        row = self.files_tree.selected_row
        copies = [  # the file itself will do when it has a copy
            r for r in self._rows if r.conflicted_copy and not r.deleted
            and (r is row or (row and getattr(parse_copy_name(r.path), "original", "") == row.path))
        ]  # fmt: skip
        if row is None or row.deleted or not copies:
            self.notify("select a conflicted copy (or its file) to resolve")
            return
        self.app.push_screen(ConflictScreen(row.path), self._restored)

    def action_toggle_excluded(self) -> None:
        row = self.files_tree.selected_row
        if self.engine is None or row is None or row.kind == "file":
            self.notify("select a folder of the workspace to keep it off this device or back")
            return
        self.toggle_excluded(row.path, exclude=row.state != EXCLUDED)

    @work(exclusive=True, group="files-exclude")
    async def toggle_excluded(self, folder: str, *, exclude: bool) -> None:
        from client.sync import selective

        assert self.engine is not None
        try:
            if exclude:
                await selective.exclude(self.engine, folder)
                self.notify(f"{folder} is off this device now; still on the server (e: back)")
            else:
                await selective.include(self.engine, folder)
                self.notify(f"{folder} syncs on this device again")
        except ClientError as exc:
            self.notify(f"cannot change {folder}: {exc}", severity="error")
        self.load()

    # ------------------------------------------------------------------ text
    def _title(self, text: str) -> None:
        self.query_one("#files-title", Static).update(safe_text(text))

    def _hint(self, text: str) -> None:
        hint = self.query_one("#files-hint", Static)
        hint.update(safe_text(text, multiline=True))
        hint.set_class("conflicted" in text or text == self._busy, "warning")

    def on_unmount(self) -> None:
        self._stop.set()
        super().on_unmount()
