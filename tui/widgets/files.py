"""The workspace as a tree: every path with its sync state, shared folders marked with their
role, conflicted copies highlighted, and the progress of the files moving right now.

`rows_from_preview` / `rows_from_listing` and `TransferProgress` are plain logic (tested
without a screen); `FileTree` only draws them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from client import display
from client.files import Listing
from client.sync.decide import Action
from client.sync.engine import PathState, Preview
from protocol import files as wire

CONFLICT_MARK = " (conflicted copy from "
FIRST_OPEN_ROWS = 300  # a tree this small opens fully on its first paint

# What the next sync pass would do to a path, in the words the tree shows.
STATE_OF_ACTION: dict[Action, tuple[str, str]] = {
    Action.NOTHING: ("synced", ""),
    Action.RECORD: ("synced", ""),
    Action.UPLOAD: ("pending", "↑ to upload"),
    Action.DELETE_REMOTE: ("pending", "delete on server"),
    Action.DOWNLOAD: ("pending", "↓ to download"),
    Action.DELETE_LOCAL: ("pending", "deleted elsewhere"),
    Action.CONFLICT: ("conflict", "changed here and elsewhere: both will be kept"),
    Action.KEEP_LOCAL: ("local only", "read-only share: never uploaded"),
}

STATE_STYLE = {
    "synced": "green",
    "pending": "yellow",
    "uploading": "bold cyan",
    "downloading": "bold cyan",
    "conflict": "bold red",
    "local only": "magenta",
    "deleted": "dim strike",
    "on server": "blue",
}


def is_conflicted_copy(path: str) -> bool:
    return CONFLICT_MARK in path.rpartition("/")[2]


@dataclass(frozen=True)
class FileRow:
    path: str  # as the workspace shows it: a share under its folder name
    kind: str  # "file" | "dir" | "share"
    size: int
    state: str
    detail: str = ""
    share: wire.Namespace | None = None  # set on a shared folder's own row

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def conflicted_copy(self) -> bool:
        return is_conflicted_copy(self.path)

    @property
    def deleted(self) -> bool:
        return self.state == "deleted"


def _share_rows(namespaces: Iterable[wire.Namespace], state: str) -> list[FileRow]:
    return [
        FileRow(ns.name, "share", 0, state, _share_detail(ns), ns)
        for ns in namespaces
        if ns.kind == "shared"
    ]


def _share_detail(ns: wire.Namespace) -> str:
    if ns.role == wire.Role.OWNER:
        return "shared by you"
    return f"shared by @{ns.owner} · you are {ns.role}"


def rows_from_preview(preview: Preview) -> list[FileRow]:
    rows = _share_rows(preview.namespaces, "synced")
    for s in preview.paths:
        if s.deleted:
            rows.append(FileRow(s.path, s.kind, s.size, "deleted", "restore it from its history"))
        else:
            state, detail = STATE_OF_ACTION[s.action]
            rows.append(FileRow(s.path, s.kind, s.size, state, detail))
    return rows


def rows_from_listing(listing: Listing) -> list[FileRow]:
    rows = _share_rows(listing.namespaces, "on server")
    for shown, e in listing.entries:
        state = "deleted" if e.deleted else "on server"
        rows.append(FileRow(shown, e.kind, e.size, state, f"from {e.device}"))
    return rows


def with_queued_restores(rows: list[FileRow], paths: set[str]) -> list[FileRow]:
    """Rows whose restore waits in the outbox show as pending (a deleted one reappears)."""
    queued = [
        replace(r, state="pending", detail="restore queued: sent when online")
        if r.path in paths
        else r
        for r in rows
    ]
    known = {r.path for r in rows}
    queued += [FileRow(p, "file", 0, "pending", "restore queued: sent when online")
               for p in sorted(paths - known)]  # fmt: skip
    return queued


@dataclass
class TransferProgress:
    """Bytes moved per file in the running sync pass, from the engine's plan and its per-block
    callback. Blocks the server or the disk already had never move: a pass's end completes it."""

    total: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)
    direction: dict[str, str] = field(default_factory=dict)  # "uploading" | "downloading"
    owners: dict[str, list[str]] = field(default_factory=dict)  # block hash -> paths

    def plan(self, states: Iterable[PathState]) -> None:
        self.clear()
        for s in states:
            if s.kind != "file" or not s.blocks:
                continue
            if s.action == Action.UPLOAD:
                self.direction[s.path] = "uploading"
            elif s.action in (Action.DOWNLOAD, Action.CONFLICT):
                self.direction[s.path] = "downloading"
            else:
                continue
            self.total[s.path] = max(s.size, 1)
            self.done[s.path] = 0
            for h in s.blocks:
                self.owners.setdefault(h, []).append(s.path)

    def block(self, h: str, size: int) -> None:
        for path in self.owners.get(h, ()):
            self.done[path] = min(self.total[path], self.done[path] + size)

    def percent(self, path: str) -> int | None:
        if path not in self.total:
            return None
        return self.done[path] * 100 // self.total[path]

    @property
    def bytes(self) -> tuple[int, int]:
        return sum(self.done.values()), sum(self.total.values())

    def clear(self) -> None:
        self.total.clear()
        self.done.clear()
        self.direction.clear()
        self.owners.clear()


def size_text(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def render_row(row: FileRow, progress: TransferProgress | None = None) -> Text:
    text = Text()
    if row.kind == "share":
        text.append(f"{display.clean(row.name)}/", style="bold")
        text.append(f"  {display.clean(row.detail)}", style="cyan")
        return text
    name = display.clean(row.name) + ("/" if row.kind == "dir" else "")
    if row.conflicted_copy:
        text.append(name, style="bold black on yellow")
    else:
        text.append(
            name, style="strike dim" if row.deleted else "bold" if row.kind == "dir" else ""
        )
    moving = progress.direction.get(row.path) if progress else None
    if moving and progress is not None:
        arrow = "↑" if moving == "uploading" else "↓"
        text.append(f"  {arrow} {moving} {progress.percent(row.path)}%", style=STATE_STYLE[moving])
    elif row.kind != "dir" or row.state not in ("synced", "on server"):
        text.append(f"  {row.state}", style=STATE_STYLE.get(row.state, ""))
        if row.detail and row.state not in ("synced", "on server", "deleted"):
            text.append(f" ({display.clean(row.detail)})", style="dim")
    if row.kind == "file" and not row.deleted:
        text.append(f"  {size_text(row.size)}", style="dim")
    if row.conflicted_copy:
        text.append("  conflicted copy", style="bold red")
    return text


class FileTree(Tree[FileRow]):
    """Rows as a folder tree (folders first); rebuilding keeps what was open and selected."""

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self.rows: dict[str, FileRow] = {}
        self._by_path: dict[str, TreeNode[FileRow]] = {}
        self.show_root = True
        self.guide_depth = 3

    def show(self, label: str, rows: list[FileRow], progress: TransferProgress) -> None:
        selected = self.selected_row.path if self.selected_row else None
        opened = {path for path, node in self._by_path.items() if node.is_expanded}
        first = not self._by_path
        self.clear()
        self.root.set_label(display.safe_text(label))  # a str label would be read as markup
        self.rows = {r.path: r for r in rows}
        self._by_path = {}
        children: dict[str, list[FileRow]] = {}
        for r in rows:
            children.setdefault(r.path.rpartition("/")[0], []).append(r)

        def add(parent: TreeNode[FileRow], folder: str) -> None:
            kids = sorted(children.get(folder, []), key=lambda r: (r.kind == "file", r.name))
            for r in kids:
                if r.kind == "file":
                    node = parent.add_leaf(render_row(r, progress), data=r)
                else:
                    node = parent.add(render_row(r, progress), data=r)
                    add(node, r.path)
                    if r.path in opened or (first and len(rows) <= FIRST_OPEN_ROWS):
                        node.expand()
                self._by_path[r.path] = node

        add(self.root, "")
        self.root.expand()
        if selected in self._by_path:
            self.call_after_refresh(self.select_path, selected)

    def show_progress(self, progress: TransferProgress) -> None:
        for path in progress.total:
            node = self._by_path.get(path)
            if node is not None and node.data is not None:
                node.set_label(render_row(node.data, progress))

    def node_of(self, path: str) -> TreeNode[FileRow]:
        return self._by_path[path]

    @property
    def selected_row(self) -> FileRow | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def select_path(self, path: str) -> bool:
        node = self._by_path.get(path)
        if node is None:
            return False
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.call_after_refresh(lambda: self.move_cursor(node))  # lines exist after a refresh
        return True
