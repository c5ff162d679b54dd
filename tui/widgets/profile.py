"""Profile widgets: a card that shows one profile, the form that edits your own, the button
that follows or unfollows someone (of a locked account it asks, "Request to follow", and
shows "Requested" until they answer), and those that block or mute them (each queued and
shown pending while offline)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea

from client.core import Written
from client.display import clean, safe_text
from client.errors import ClientError, ServerError
from client.social import Social
from protocol.profiles import Profile
from protocol.social import UserProfile

if TYPE_CHECKING:
    from tui.app import RoostApp

BIO_LIMIT = 500
LOCK = "🔒"


def profile_counts(profile: UserProfile) -> str:
    posts = "1 post" if profile.posts == 1 else f"{profile.posts} posts"
    followers = "1 follower" if profile.followers == 1 else f"{profile.followers} followers"
    parts = [posts, followers]
    parts.append(f"{profile.following} following")
    if profile.follows_you:
        parts.append("follows you")
    if profile.blocked:
        parts.append("blocked by you")
    if profile.muted:
        parts.append("muted by you")
    if profile.requested:
        parts.append("you asked to follow")
    return " · ".join(parts)


def display_name(profile: Profile | UserProfile) -> str:
    """The name a card shows, with the lock of a locked account."""
    name = profile.display_name or profile.username
    return f"{name} {LOCK}" if profile.locked else name


class ProfileCard(Vertical):
    """One profile: name, handle, bio, when they joined, and (for someone else's) their
    counts; marked while an edit is pending."""

    def compose(self) -> ComposeResult:
        yield Static(id="name")
        yield Static(id="handle")
        yield Static(id="counts")
        yield Static(id="bio")
        yield Static(id="joined")

    def on_mount(self) -> None:
        self.query_one("#counts", Static).display = False

    def show(
        self, profile: Profile | UserProfile | None, *, pending: bool = False, note: str = ""
    ) -> None:
        counts = self.query_one("#counts", Static)
        counts.display = isinstance(profile, UserProfile)
        if isinstance(profile, UserProfile):
            counts.update(profile_counts(profile))
        if profile is None:
            self.query_one("#name", Static).update(safe_text(note or "(not loaded yet)"))
            for part in ("#handle", "#bio", "#joined"):
                self.query_one(part, Static).update("")
            return
        self.query_one("#name", Static).update(safe_text(display_name(profile)))
        handle = f"@{profile.username}"
        if profile.locked:
            handle += " · locked: approves followers"
        self.query_one("#handle", Static).update(safe_text(handle))
        self.query_one("#bio", Static).update(safe_text(profile.bio or "(no bio)", multiline=True))
        joined = f"joined {profile.created_at:%Y-%m-%d}"
        marks = [m for m in ("pending — will be sent when online" if pending else "", note) if m]
        self.query_one("#joined", Static).update(safe_text(" · ".join([joined, *marks])))
        self.set_class(pending, "pending")


class ProfileEditor(Vertical):
    """Display name, bio and lock of your own profile."""

    @dataclass
    class Saved(Message):
        display_name: str
        bio: str
        locked: bool

    def compose(self) -> ComposeResult:
        yield Label("Display name")
        yield Input(placeholder="How others see your name", max_length=64, id="display-name")
        yield Label("Bio")
        yield TextArea(id="bio-editor", soft_wrap=True)
        yield Checkbox("Locked: I approve followers", id="locked")
        with Horizontal(id="editor-actions"):
            yield Button("Save", id="save", variant="primary")
            yield Static(id="bio-count")

    @property
    def name_input(self) -> Input:
        return self.query_one("#display-name", Input)

    @property
    def bio_area(self) -> TextArea:
        return self.query_one("#bio-editor", TextArea)

    def fill(self, profile: Profile) -> None:
        # Saved back as shown: a control character an older server kept shows as its
        # stand-in here, and is not sent again (the server would refuse it).
        self.name_input.value = clean(profile.display_name)
        self.bio_area.text = clean(profile.bio, multiline=True)
        self.query_one("#locked", Checkbox).value = profile.locked

    @on(TextArea.Changed, "#bio-editor")
    def _count(self) -> None:
        used = len(self.bio_area.text)
        counter = self.query_one("#bio-count", Static)
        counter.update(f"{used}/{BIO_LIMIT}")
        counter.set_class(used > BIO_LIMIT, "over")

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        locked = self.query_one("#locked", Checkbox).value
        self.post_message(self.Saved(self.name_input.value, self.bio_area.text, locked))


class FollowButton(Button):
    """Follows or unfollows one person; of a locked account it asks ("Request to follow"),
    shows "Requested" while they have not answered, and pressed then takes the request back.
    Offline the write is queued: the button shows the new state marked pending until
    `acked()` hears the server took it."""

    @dataclass
    class Changed(Message):
        button: FollowButton
        profile: UserProfile | None  # the server's answer; None while the write is queued

        @property
        def control(self) -> FollowButton:
            return self.button

    def __init__(
        self,
        username: str,
        *,
        following: bool = False,
        following_label: str = "Following",
        id: str | None = None,
        compact: bool = False,
    ) -> None:
        super().__init__("Follow", id=id, compact=compact)
        self.username = username
        self.following = following
        self.requested = False  # our request to a locked account waits for their answer
        self.locked = False
        self.pending_client_id: str | None = None
        self._following_label = following_label
        self._relabel()

    def set_following(
        self, following: bool, *, requested: bool = False, locked: bool = False
    ) -> None:
        """What the server says; ignored while our own change is still queued."""
        if self.pending_client_id is None:
            self.following, self.requested, self.locked = following, requested, locked
            self._relabel()

    def _show(self, profile: UserProfile) -> None:
        self.following, self.requested = profile.you_follow, profile.requested
        self.locked = profile.locked

    def _relabel(self) -> None:
        if self.following:
            label = self._following_label
        elif self.requested:
            label = "Requested"
        else:
            label = "Request to follow" if self.locked else "Follow"
        self.label = f"{label} (pending)" if self.pending_client_id else label
        self.variant = "default" if self.following or self.requested else "primary"
        self.set_class(self.pending_client_id is not None, "pending")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self.pending_client_id is None:  # one queued change at a time
            self.toggle()

    @work(exclusive=True, group="follow")
    async def toggle(self) -> None:
        app: RoostApp = self.app  # type: ignore[assignment]
        social = app.client.social
        want = not (self.following or self.requested)
        try:
            written = await (
                social.follow(self.username) if want else social.unfollow(self.username)
            )
        except ServerError as exc:
            self.notify(exc.message, severity="error")
            return
        except ClientError as exc:
            self.notify(str(exc), severity="error")
            return
        if written.result is not None:
            self._show(written.result)
        else:  # queued: what it will be once sent
            self.following, self.requested = want and not self.locked, want and self.locked
        if written.queued:
            self.pending_client_id = written.client_id
            await app.refresh_outbox()
        # Sent: the client tells every screen (FollowChanged), timelines reload.
        self._relabel()
        self.post_message(self.Changed(self, written.result))

    def acked(self, client_id: str, result: object) -> bool:
        """A queued write was committed: show the server's answer. True if it was ours."""
        if client_id != self.pending_client_id or not isinstance(result, UserProfile):
            return False
        self.pending_client_id = None
        self._show(result)
        self._relabel()
        self.post_message(self.Changed(self, result))
        return True


class PrivateListButton(Button):
    """Puts one person on one of your private lists, or takes them off: `BlockButton`,
    `MuteButton`. Nobody else is told. Offline the write is queued: the button shows the new
    state marked pending until `acked()` hears the server took it."""

    KIND: ClassVar[str]
    LABELS: ClassVar[tuple[str, str]]  # (to put them on, to take them off)
    VARIANT: ClassVar[str] = "default"

    @dataclass
    class Changed(Message):
        button: PrivateListButton
        profile: UserProfile | None  # the server's answer; None while the write is queued

        @property
        def control(self) -> PrivateListButton:
            return self.button

    def __init__(self, username: str, *, id: str | None = None) -> None:
        super().__init__(self.LABELS[0], id=id)
        self.username = username
        self.listed = False
        self.pending_client_id: str | None = None
        self._relabel()

    def set_listed(self, listed: bool) -> None:
        """What the server says; ignored while our own change is still queued."""
        if self.pending_client_id is None:
            self.listed = listed
            self._relabel()

    def state_of(self, profile: UserProfile) -> bool:
        raise NotImplementedError

    def write(self, social: Social, on: bool) -> Awaitable[Written[UserProfile]]:
        raise NotImplementedError

    def _relabel(self) -> None:
        label = self.LABELS[1] if self.listed else self.LABELS[0]
        self.label = f"{label} (pending)" if self.pending_client_id else label
        self.variant = "default" if self.listed else self.VARIANT
        self.set_class(self.pending_client_id is not None, "pending")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self.pending_client_id is None:  # one queued change at a time
            self.run_worker(self._toggle(), exclusive=True, group=f"list-{self.KIND}")

    async def _toggle(self) -> None:
        app: RoostApp = self.app  # type: ignore[assignment]
        want = not self.listed
        try:
            written = await self.write(app.client.social, want)
        except ServerError as exc:
            self.notify(exc.message, severity="error")
            return
        except ClientError as exc:
            self.notify(str(exc), severity="error")
            return
        self.listed = want
        if written.queued:
            self.pending_client_id = written.client_id
            await app.refresh_outbox()
        # Sent: the client tells every screen (FollowChanged), timelines that showed them reload.
        self._relabel()
        self.post_message(self.Changed(self, written.result))

    def acked(self, client_id: str, result: object) -> bool:
        """A queued write was committed: show the server's answer. True if it was ours."""
        if client_id != self.pending_client_id or not isinstance(result, UserProfile):
            return False
        self.pending_client_id = None
        self.listed = self.state_of(result)
        self._relabel()
        self.post_message(self.Changed(self, result))
        return True


class BlockButton(PrivateListButton):
    KIND = "block"
    LABELS = ("Block", "Unblock")
    VARIANT = "error"

    def state_of(self, profile: UserProfile) -> bool:
        return profile.blocked

    def write(self, social: Social, on: bool) -> Awaitable[Written[UserProfile]]:
        return social.block(self.username) if on else social.unblock(self.username)


class MuteButton(PrivateListButton):
    KIND = "mute"
    LABELS = ("Mute", "Unmute")
    VARIANT = "warning"

    def state_of(self, profile: UserProfile) -> bool:
        return profile.muted

    def write(self, social: Social, on: bool) -> Awaitable[Written[UserProfile]]:
        return social.mute(self.username) if on else social.unmute(self.username)
