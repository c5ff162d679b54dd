"""Profile widgets: a card that shows one profile, and the form that edits your own."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static, TextArea

from protocol.profiles import Profile

BIO_LIMIT = 500


class ProfileCard(Vertical):
    """One profile: name, handle, bio, when they joined; marked while an edit is pending."""

    def compose(self) -> ComposeResult:
        yield Static(id="name")
        yield Static(id="handle")
        yield Static(id="bio")
        yield Static(id="joined")

    def show(self, profile: Profile | None, *, pending: bool = False, note: str = "") -> None:
        if profile is None:
            self.query_one("#name", Static).update(note or "(not loaded yet)")
            for part in ("#handle", "#bio", "#joined"):
                self.query_one(part, Static).update("")
            return
        self.query_one("#name", Static).update(profile.display_name or profile.username)
        self.query_one("#handle", Static).update(f"@{profile.username}")
        self.query_one("#bio", Static).update(profile.bio or "(no bio)")
        joined = f"joined {profile.created_at:%Y-%m-%d}"
        marks = [m for m in ("pending — will be sent when online" if pending else "", note) if m]
        self.query_one("#joined", Static).update(" · ".join([joined, *marks]))
        self.set_class(pending, "pending")


class ProfileEditor(Vertical):
    """Display name and bio of your own profile."""

    @dataclass
    class Saved(Message):
        display_name: str
        bio: str

    def compose(self) -> ComposeResult:
        yield Label("Display name")
        yield Input(placeholder="How others see your name", max_length=64, id="display-name")
        yield Label("Bio")
        yield TextArea(id="bio-editor", soft_wrap=True)
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
        self.name_input.value = profile.display_name
        self.bio_area.text = profile.bio

    @on(TextArea.Changed, "#bio-editor")
    def _count(self) -> None:
        used = len(self.bio_area.text)
        counter = self.query_one("#bio-count", Static)
        counter.update(f"{used}/{BIO_LIMIT}")
        counter.set_class(used > BIO_LIMIT, "over")

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.post_message(self.Saved(self.name_input.value, self.bio_area.text))
