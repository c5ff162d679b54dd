"""F7's "w": choose or create the folder this device keeps in sync, without a terminal.
The folder typed is checked by client.workspace_folder (each refusal one line, the text
kept to fix); the Files screen makes it, binds it and starts syncing."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from client.display import safe_text
from client.errors import ClientError
from client.workspace_folder import SUGGESTED, check_workspace_folder

QUESTION = (
    "Which folder should this device keep in sync with your files? It is made if it does not"
    " exist; files already in it are uploaded. (Enter chooses, Esc cancels)"
)


class WorkspaceScreen(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: Path | None, client_home: Path) -> None:
        super().__init__()
        self._current = current
        self._client_home = client_home

    def compose(self) -> ComposeResult:
        with Vertical(id="workspace-box"):
            yield Static(QUESTION)
            shown = str(self._current) if self._current is not None else SUGGESTED
            yield Input(value=shown, id="workspace-folder")
            yield Static(id="workspace-note")

    def on_mount(self) -> None:
        self.query_one("#workspace-folder", Input).focus()

    @on(Input.Submitted, "#workspace-folder")
    def _chosen(self, event: Input.Submitted) -> None:
        try:
            folder = check_workspace_folder(
                event.value, client_home=self._client_home, user_home=Path.home()
            )
        except ClientError as exc:
            self.query_one("#workspace-note", Static).update(safe_text(str(exc)))
            return  # the text stays, to be fixed
        self.dismiss(folder)

    def action_cancel(self) -> None:
        self.dismiss(None)
