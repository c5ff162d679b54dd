"""Share a top-level folder: its members and their roles (and who has not accepted yet), invite
someone as viewer or editor, revoke a member or an invitation."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, RadioButton, RadioSet, Static

from client.core import RoostClient
from client.display import safe_text
from client.errors import ClientError
from protocol import files as wire


class ShareScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(
        self, folder: str, owner: str | None = None, namespace_id: str | None = None
    ) -> None:
        super().__init__()
        self.folder = folder
        self.owner = owner  # someone else's share: its members are shown, not changed
        self.namespace_id = namespace_id  # a share already: found by id, whatever it is called
        self.members: list[wire.Member] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="share-box"):
            title = f"Members of {self.folder}/" if self.owner else f"Share {self.folder}/"
            yield Static(safe_text(title), classes="section-title")
            table: DataTable[str | Text] = DataTable(id="members", cursor_type="row")
            yield table
            yield Input(placeholder="username to share with", id="share-user")
            with RadioSet(id="share-role"):
                yield RadioButton("viewer (read-only)", value=True, id="role-viewer")
                yield RadioButton("editor", id="role-editor")
            yield Static("", id="share-note")
            with Horizontal(id="share-actions"):
                yield Button("Share", id="share", variant="primary")
                yield Button("Revoke selected", id="revoke", variant="error")
                yield Button("Close", id="close")

    @property
    def client(self) -> RoostClient:
        from tui.app import RoostApp

        assert isinstance(self.app, RoostApp)
        return self.app.client

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#members", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns("member", "role")
        if self.owner is not None:
            for widget in self.query("#share-user, #share-role, #share, #revoke"):
                widget.display = False
            self.table.focus()
        else:
            self.query_one("#share-user", Input).focus()
        self.load()

    @work(exclusive=True, group="share-load")
    async def load(self) -> None:
        try:
            answer = await self.client.files.cached_shares()
        except ClientError as exc:
            self._note(f"cannot read the members: {exc}")
            return
        info = next((s for s in answer.result.shares if self._is_this(s)), None)
        self._show(info)
        if answer.offline:
            note = self.query_one("#share-note", Static)
            self._note(f"offline: the members may be out of date. {note.render()}")

    def _is_this(self, share: wire.ShareInfo) -> bool:
        if self.namespace_id is not None:
            return share.namespace_id == self.namespace_id
        return share.folder == self.folder

    def _show(self, info: wire.ShareInfo | None) -> None:
        self.members = info.members if info else []
        self.table.clear()
        for m in self.members:
            role = f"{m.role} (invited)" if m.pending else m.role
            self.table.add_row(safe_text(f"@{m.username}"), safe_text(role), key=m.username)
        if self.owner is not None:
            self._note(f"Only @{self.owner}, its owner, can change who shares it.")
        elif not self.members:
            self._note("Not shared yet: add someone below.")

    def _role(self) -> str:
        editor = self.query_one("#role-editor", RadioButton).value
        return wire.Role.EDITOR.value if editor else wire.Role.VIEWER.value

    @on(Input.Submitted, "#share-user")
    @on(Button.Pressed, "#share")
    def _share_pressed(self) -> None:
        user = self.query_one("#share-user", Input).value.strip().lstrip("@")
        if not user:
            self._note("type a username first")
            return
        self.share(user, self._role())

    @work(exclusive=True, group="share-write")
    async def share(self, user: str, role: str) -> None:
        try:
            info = await self.client.files.share(self.folder, user, role)
        except ClientError as exc:
            self._note(str(exc))
            return
        self.query_one("#share-user", Input).value = ""
        self._show(info)
        invited = any(m.pending and m.username == user.lower() for m in info.members)
        if invited:
            self._note(f"invited @{user} as {role}: shared once they accept")
        else:
            self._note(f"shared {self.folder}/ with @{user} as {role}")

    @on(Button.Pressed, "#revoke")
    def _revoke_pressed(self) -> None:
        row = self.table.cursor_row
        if not 0 <= row < len(self.members):
            self._note("select a member first")
            return
        member = self.members[row]
        if member.role == wire.Role.OWNER:
            self._note("the owner cannot be removed")
            return
        self.revoke(member.username)

    @work(exclusive=True, group="share-write")
    async def revoke(self, user: str) -> None:
        try:
            info = await self.client.files.unshare(self.folder, user)
        except ClientError as exc:
            self._note(str(exc))
            return
        self._show(info)
        self._note(f"@{user} no longer shares {self.folder}/")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)

    def _note(self, text: str) -> None:
        self.query_one("#share-note", Static).update(safe_text(text))
