"""A conflicted copy's dialog (k on the Files screen): the diff from the file (theirs) to the
copy (mine), and keeping mine, theirs or both; resolved on the server, so on every device
(`client.conflict_inbox`, as `roost conflicts keep`)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from client.conflict_inbox import ConflictInbox, Keep, sides
from client.display import safe_text
from client.errors import ClientError

KEEP_KEYS = "m: keep mine (the copy) · t: keep theirs (the file) · b: keep both · Esc: close"


def coloured(diff: str) -> Text:
    """The diff with removed lines red and added ones green; every line cleaned first (they
    are someone's file)."""
    out = Text()
    for line in diff.splitlines():
        style = "" if line[:3] in ("---", "+++") else {"-": "red", "+": "green", "@": "cyan"}
        out.append(safe_text(line, style.get(line[:1], "") if isinstance(style, dict) else ""))
        out.append("\n")
    return out


class ConflictScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("m", "keep('mine')", "Keep mine"),
        Binding("t", "keep('theirs')", "Keep theirs"),
        Binding("b", "keep('both')", "Keep both"),
    ]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box"):
            yield Static(safe_text(f"Conflict: {self.path}"), classes="section-title")
            yield Static("", id="conflict-sides")
            with VerticalScroll(id="conflict-diff"):
                yield Static("reading both sides…", id="conflict-text")
            yield Static(KEEP_KEYS, id="conflict-note")
            with Horizontal(id="history-actions"):
                yield Button("Keep mine", id="mine")
                yield Button("Keep theirs", id="theirs")
                yield Button("Keep both", id="both")
                yield Button("Close", id="close")

    @property
    def inbox(self) -> ConflictInbox:
        from tui.app import RoostApp

        assert isinstance(self.app, RoostApp)
        return ConflictInbox(self.app.client.files)

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="conflict")
    async def load(self) -> None:
        try:
            conflict = await self.inbox.find(self.path)
            self.query_one("#conflict-sides", Static).update(safe_text(sides(conflict)))
            text = await self.inbox.diff_of(conflict)
        except ClientError as exc:
            text = f"cannot show the diff: {exc}"
        self.query_one("#conflict-text", Static).update(coloured(text))

    def action_close(self) -> None:
        self.dismiss(False)

    def action_keep(self, keep: Keep) -> None:
        self.resolve(keep)

    @work(exclusive=True, group="conflict-keep")
    async def resolve(self, keep: Keep) -> None:
        try:
            done = await self.inbox.keep(self.path, keep)
        except ClientError as exc:
            self.query_one("#conflict-note", Static).update(safe_text(str(exc)))
            return
        self.notify(f"resolved {done.path}: kept {keep} (every device follows)")
        self.dismiss(True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "close":
            self.dismiss(False)
        elif event.button.id in ("mine", "theirs", "both"):
            self.resolve(event.button.id)
