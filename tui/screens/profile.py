"""Profile: yours (shown and edited) or anyone's (looked up by username)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from client.errors import ClientError, ServerError, Unreachable
from protocol.profiles import GetProfile, Profile, SetProfile
from tui.messages import ServerEvent, WriteAcked
from tui.screens.base import RoostScreen
from tui.widgets.profile import ProfileCard, ProfileEditor


class ProfileScreen(RoostScreen):
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("ctrl+l", "lookup", "Look up")]

    def __init__(self) -> None:
        super().__init__()
        self._pending: set[str] = set()  # client ids of our edits not yet acked
        self._own: Profile | None = None

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(id="profile-body"):
            with Vertical(id="profile-left"):
                yield Static("Your profile", classes="section-title")
                yield ProfileCard(id="own-card")
                yield Static("Look up someone", classes="section-title")
                yield Input(placeholder="username, then Enter", id="lookup", max_length=32)
                yield ProfileCard(id="other-card")
            with Vertical(id="profile-right"):
                yield Static("Edit your profile", classes="section-title")
                yield ProfileEditor(id="editor")

    @property
    def own_card(self) -> ProfileCard:
        return self.query_one("#own-card", ProfileCard)

    @property
    def editor(self) -> ProfileEditor:
        return self.query_one("#editor", ProfileEditor)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#other-card", ProfileCard).display = False
        self.load()

    @work(exclusive=True, group="profile-load")
    async def load(self) -> None:
        """Paint from the cache at once, then ask the server."""
        client = self.roost.client
        me = client.home.require_account().username
        cached = await client.cache.get("profile.get", me)
        if cached is not None:
            self._show_own(msgspec.json.decode(cached.value, type=Profile), fill=True)
        try:
            answer = await client.read("profile.get", GetProfile(), cache_key=me)
        except Unreachable:
            if cached is None:
                self.own_card.show(None, note="offline, and not cached yet")
            return
        self._show_own(answer.result, fill=True)

    def _show_own(self, profile: Profile, *, fill: bool = False) -> None:
        self._own = profile
        self.own_card.show(profile, pending=bool(self._pending))
        if fill:
            self.editor.fill(profile)

    def action_save(self) -> None:
        self.editor.query_one("#save", Button).press()

    def action_lookup(self) -> None:
        self.query_one("#lookup", Input).focus()

    @on(ProfileEditor.Saved)
    def _saved(self, event: ProfileEditor.Saved) -> None:
        self.save(event.display_name, event.bio)

    @work(exclusive=True, group="profile-save")
    async def save(self, display_name: str, bio: str) -> None:
        try:
            written = await self.roost.client.write(
                "profile.set", SetProfile(display_name=display_name, bio=bio)
            )
        except ServerError as exc:
            self.notify(exc.message, title="Not saved", severity="error")
            return
        if written.queued:
            self._pending.add(written.client_id)
            now = datetime.now(UTC)
            me = self.roost.client.home.require_account().username
            base = self._own or Profile(me, "", "", now, now)
            draft = msgspec.structs.replace(base, display_name=display_name, bio=bio)
            self.own_card.show(draft, pending=True)
            await self.roost.refresh_outbox()
        elif written.result is not None:
            self._show_own(written.result)
            self.notify("Profile saved")

    @on(Input.Submitted, "#lookup")
    def _lookup(self, event: Input.Submitted) -> None:
        self.look_up(event.value.strip().lstrip("@"))

    @work(exclusive=True, group="profile-lookup")
    async def look_up(self, username: str) -> None:
        card = self.query_one("#other-card", ProfileCard)
        card.display = True
        if not username:
            card.display = False
            return
        try:
            answer = await self.roost.client.read(
                "profile.get", GetProfile(username=username), cache_key=username.lower()
            )
        except ServerError as exc:
            card.show(None, note=exc.message)
            return
        except ClientError:
            card.show(None, note=f"offline, and @{username} is not cached")
            return
        card.show(answer.result, note="offline copy" if answer.offline else "")

    def on_write_acked(self, message: WriteAcked) -> None:
        if message.client_id in self._pending:
            self._pending.discard(message.client_id)
            if not self._pending:
                self._show_own(message.result)

    def on_server_event(self, message: ServerEvent) -> None:
        if message.name == "profile.updated" and isinstance(message.data, Profile):
            if not self._pending:
                self._show_own(message.data, fill=True)
