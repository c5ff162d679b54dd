"""Profile: yours (shown and edited), or someone else's (counts, their posts, Follow/Unfollow,
Mute/Unmute, Block/Unblock).

Your own is the F4 mode; someone else's is pushed on top of the screen that opened it
(`open_profile`) and Escape goes back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Button, Input, ListView, Static

from client.display import safe_text
from client.errors import ClientError, ServerError, Unreachable
from client.events import ProfileUpdated, WriteAcked
from protocol.profiles import GetProfile, Profile, SetProfile
from protocol.social import Page, UserProfile
from tui.client_events import ClientEventReceived
from tui.screens.base import RoostScreen
from tui.screens.thread import ThreadScreen
from tui.widgets.posts import PostItem
from tui.widgets.profile import (
    BlockButton,
    FollowButton,
    MuteButton,
    PrivateListButton,
    ProfileCard,
    ProfileEditor,
)

if TYPE_CHECKING:
    from tui.app import RoostApp

PAGE = 20
OWN_ONLY = {"save", "lookup"}
OTHERS_ONLY = {"back", "follow", "open_author", "block", "mute"}


def open_profile(app: RoostApp, username: str) -> None:
    """Show someone's profile over the current screen; your own is the Profile mode."""
    if username.lower() == app.home.require_account().username.lower():
        app.switch_mode("profile")
    else:
        app.push_screen(ProfileScreen(username))


class ProfileScreen(RoostScreen):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+l", "lookup", "Look up"),
        Binding("escape", "back", "Back"),
        Binding("f", "follow", "Follow"),
        Binding("m", "mute", "Mute"),
        Binding("b", "block", "Block"),
        Binding("p", "open_author", "Author"),
    ]

    def __init__(self, username: str | None = None) -> None:
        """`username`: someone else's profile; None: your own, editable."""
        super().__init__()
        self.username = username
        self._pending: set[str] = set()  # client ids of our edits not yet acked
        self._own: Profile | None = None
        self._other: UserProfile | None = None

    def compose_body(self) -> Iterable[Widget]:
        if self.username is not None:
            yield from self._compose_other(self.username)
            return
        with Horizontal(id="profile-body"):
            with Vertical(id="profile-left"):
                yield Static("Your profile", classes="section-title")
                yield ProfileCard(id="own-card")
                yield Static("Look up someone", classes="section-title")
                yield Input(placeholder="username, then Enter", id="lookup", max_length=32)
                yield Static(id="lookup-note")
            with Vertical(id="profile-right"):
                yield Static("Edit your profile", classes="section-title")
                yield ProfileEditor(id="editor")

    def _compose_other(self, username: str) -> Iterable[Widget]:
        with Horizontal(id="profile-body"):
            with Vertical(id="profile-left"):
                yield Static(safe_text(f"@{username}"), classes="section-title")
                yield ProfileCard(id="other-card")
                with Horizontal(id="profile-actions"):
                    yield FollowButton(username, id="follow", following_label="Unfollow")
                    yield MuteButton(username, id="mute")
                    yield BlockButton(username, id="block")
            with Vertical(id="profile-right"):
                yield Static(safe_text(f"Posts by @{username}"), classes="section-title")
                yield Static(id="user-posts-note")
                yield ListView(id="user-posts")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # One screen, two faces: hide the keys that do not apply to this one.
        if action in OWN_ONLY and self.username is not None:
            return False
        if action in OTHERS_ONLY and self.username is None:
            return False
        return super().check_action(action, parameters)

    @property
    def own_card(self) -> ProfileCard:
        return self.query_one("#own-card", ProfileCard)

    @property
    def editor(self) -> ProfileEditor:
        return self.query_one("#editor", ProfileEditor)

    def on_mount(self) -> None:
        super().on_mount()
        if self.username is None:
            self.load()
        else:
            self.query_one("#user-posts", ListView).focus()
            self.load_other(self.username)

    @work(exclusive=True, group="profile-load")
    async def load(self) -> None:
        """Paint from the cache at once, then ask the server."""
        client = self.roost.client
        me = client.home.require_account().username
        cached = await client.cached("profile.get", me)
        if cached is not None:
            self._show_own(cached, fill=True)
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
        self.save(event.display_name, event.bio, event.locked)

    @work(exclusive=True, group="profile-save")
    async def save(self, display_name: str, bio: str, locked: bool) -> None:
        try:
            written = await self.roost.client.write(
                "profile.set", SetProfile(display_name=display_name, bio=bio, locked=locked)
            )
        except ServerError as exc:
            self.notify(exc.message, title="Not saved", severity="error")
            return
        if written.queued:
            self._pending.add(written.client_id)
            now = datetime.now(UTC)
            me = self.roost.client.home.require_account().username
            base = self._own or Profile(me, "", "", now, now)
            draft = msgspec.structs.replace(base, display_name=display_name, bio=bio, locked=locked)
            self.own_card.show(draft, pending=True)
            await self.roost.refresh_outbox()
        elif written.result is not None:
            self._show_own(written.result)
            self.notify("Profile saved")

    @on(Input.Submitted, "#lookup")
    def _lookup(self, event: Input.Submitted) -> None:
        username = event.value.strip().lstrip("@")
        if username:
            event.input.value = ""
            open_profile(self.roost, username)

    # ------------------------------------------------------------------ someone else's
    @work(exclusive=True, group="profile-load")
    async def load_other(self, username: str) -> None:
        """Paint their profile and posts from the cache at once, then ask the server."""
        try:
            await self._load_other(username)
        except NoMatches:
            return  # the app closed while an answer was on its way

    async def _load_other(self, username: str) -> None:
        client = self.roost.client
        cached = await client.cached("user.profile", username.lower())
        if cached is not None:
            self._show_other(cached, "offline copy")
        cached_posts = await client.cached("timeline.user", f"{username.lower()}:{PAGE}:")
        if cached_posts is not None:
            await self._show_posts(cached_posts)
        social = self.roost.client.social
        card = self.query_one("#other-card", ProfileCard)
        try:
            answer = await social.profile(username)
        except ServerError as exc:
            card.show(None, note=exc.message)
            self._show_actions(False)
            return
        except ClientError:
            if cached is None:
                card.show(None, note=f"offline, and @{username} is not cached")
                self._show_actions(False)
            return
        self._show_other(answer.result, "offline copy" if answer.offline else "")
        try:
            posts = await social.user_timeline(username, PAGE)
        except ClientError:
            return
        await self._show_posts(posts.result)

    def _show_actions(self, shown: bool) -> None:
        self.query_one("#profile-actions").display = shown

    def _lists(self) -> list[PrivateListButton]:
        return [self.query_one("#mute", MuteButton), self.query_one("#block", BlockButton)]

    @work(exclusive=True, group="profile-posts")
    async def reload_posts(self, username: str) -> None:
        try:
            posts = await self.roost.client.social.user_timeline(username, PAGE)
        except ClientError:
            return
        try:
            await self._show_posts(posts.result)
        except NoMatches:
            return  # the app closed while the answer was on its way

    def _show_other(self, profile: UserProfile, note: str = "") -> None:
        self._other = profile
        self._show_actions(True)
        button = self.query_one("#follow", FollowButton)
        button.set_following(profile.you_follow, requested=profile.requested, locked=profile.locked)
        pending = button.pending_client_id is not None
        for toggle in self._lists():
            toggle.set_listed(toggle.state_of(profile))
            pending = pending or toggle.pending_client_id is not None
        card = self.query_one("#other-card", ProfileCard)
        card.show(profile, pending=pending, note=note)

    async def _show_posts(self, page: Page) -> None:
        view = self.query_one("#user-posts", ListView)
        await view.clear()
        await view.extend(PostItem(post) for post in page.posts)
        if page.posts:
            view.index = 0
        other = self._other
        if page.posts:
            note = ""
        elif other is not None and other.blocked:
            note = f"You blocked @{other.username}: their posts are hidden from you."
        elif other is not None and other.locked and not other.you_follow:
            note = f"🔒 Only the people @{other.username} approves see their posts."
        else:
            note = "No posts yet."
        self.query_one("#user-posts-note", Static).update(note)

    @on(FollowButton.Changed, "#follow")
    def _follow_changed(self, event: FollowButton.Changed) -> None:
        if event.profile is not None:
            self._show_other(event.profile)
            if event.profile.locked:  # following decides what of theirs you may see
                self.reload_posts(event.profile.username)
        elif self._other is not None:  # queued: show what it will be once sent
            step = int(event.button.following) - int(self._other.you_follow)
            draft = msgspec.structs.replace(
                self._other,
                you_follow=event.button.following,
                requested=event.button.requested,
                followers=max(0, self._other.followers + step),
            )
            self._other = draft
            self.query_one("#other-card", ProfileCard).show(draft, pending=True)

    @on(PrivateListButton.Changed)
    def _list_changed(self, event: PrivateListButton.Changed) -> None:
        if event.profile is not None:  # their posts and the follow may have changed too
            self._show_other(event.profile)
            if self.username is not None:
                self.load_other(self.username)
        elif self._other is not None:  # queued: show what it will be once sent
            listed = event.button.listed
            if isinstance(event.button, BlockButton):
                draft = msgspec.structs.replace(self._other, blocked=listed)
                if listed:  # a block ends the follows both ways
                    draft = msgspec.structs.replace(draft, you_follow=False, follows_you=False)
            else:
                draft = msgspec.structs.replace(self._other, muted=listed)
            self._other = draft
            self.query_one("#other-card", ProfileCard).show(draft, pending=True)

    def action_follow(self) -> None:
        self.query_one("#follow", FollowButton).press()

    def action_mute(self) -> None:
        self.query_one("#mute", MuteButton).press()

    def action_block(self) -> None:
        self.query_one("#block", BlockButton).press()

    def action_back(self) -> None:
        self.dismiss()

    def _selected_post(self) -> PostItem | None:
        item = self.query_one("#user-posts", ListView).highlighted_child
        return item if isinstance(item, PostItem) else None

    @on(ListView.Selected, "#user-posts")
    def action_open_thread(self) -> None:
        item = self._selected_post()
        if item is not None:
            self.app.push_screen(ThreadScreen(item.post.repost_of or item.post.id))

    def action_open_author(self) -> None:
        item = self._selected_post()
        if item is not None:
            post = item.post.original or item.post
            if post.author.lower() != (self.username or "").lower():
                open_profile(self.roost, post.author)

    # ------------------------------------------------------------------ live
    def on_client_event_received(self, received: ClientEventReceived) -> None:
        match received.event:
            case WriteAcked() as acked:
                self._acked(acked)
            case ProfileUpdated(profile=profile) if self.username is None:
                if not self._pending:
                    self._show_own(profile, fill=True)

    def _acked(self, acked: WriteAcked) -> None:
        if self.username is not None:
            self.query_one("#follow", FollowButton).acked(acked.client_id, acked.result)
            for toggle in self._lists():
                toggle.acked(acked.client_id, acked.result)
            return
        if acked.client_id in self._pending:
            self._pending.discard(acked.client_id)
            if not self._pending:
                self._show_own(acked.result)
