"""The small dialog that starts a chat: one person for a direct chat, or a named group."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from client.display import safe_text
from protocol.chat import MAX_GROUP_MEMBERS
from protocol.types import is_single_line

USERNAME = re.compile(r"[A-Za-z0-9_]{3,32}")  # whole names only: fullmatch


@dataclass(frozen=True)
class NewChat:
    """Either a direct chat (`target` is `@user`) or a group to create."""

    target: str | None = None
    group: str | None = None
    members: list[str] = field(default_factory=list)


def parse_new_chat(people: str, group_name: str, me: str) -> NewChat:
    """What the dialog's two fields ask for; ValueError with a one-line reason otherwise."""
    names = [n.lstrip("@") for n in re.split(r"[\s,]+", people.strip()) if n.lstrip("@")]
    for name in names:
        if not USERNAME.fullmatch(name):
            raise ValueError(f"{name[:40]!r} is not a username (3-32 letters, digits or _)")
    unique = list(dict.fromkeys(n.lower() for n in names if n.lower() != me.lower()))
    name = group_name.strip()
    if not unique:
        raise ValueError("name someone to chat with (not yourself)")
    if not name:
        if len(unique) > 1:
            raise ValueError("a group needs a name")
        return NewChat(target="@" + unique[0])
    if len(name) > 64 or not is_single_line(name):
        raise ValueError("a group name is 1-64 characters, no control characters")
    if len(unique) > MAX_GROUP_MEMBERS:
        raise ValueError(f"a group has at most {MAX_GROUP_MEMBERS} other members")
    return NewChat(group=name, members=unique)


class NewChatScreen(ModalScreen[NewChat | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, me: str) -> None:
        super().__init__()
        self._me = me

    def compose(self) -> ComposeResult:
        with Vertical(id="new-chat-box"):
            yield Static("New chat", classes="section-title")
            yield Input(placeholder="@bob, or several people for a group", id="new-chat-people")
            yield Input(placeholder="group name (only for a group)", id="new-chat-name")
            yield Static(id="new-chat-error")
            with Horizontal():
                yield Button("Start", id="start", variant="primary")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        people = self.query_one("#new-chat-people", Input).value
        name = self.query_one("#new-chat-name", Input).value
        try:
            self.dismiss(parse_new_chat(people, name, self._me))
        except ValueError as exc:
            self.query_one("#new-chat-error", Static).update(safe_text(str(exc)))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
