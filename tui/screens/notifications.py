"""Notifications: mentions, replies, likes, reposts, follows and follow requests, newest first,
unread marked. A follow request (to a locked account) is answered here: a approves, x declines.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import ListItem, ListView, Static

from client.display import clean
from client.errors import ClientError, ServerError
from client.events import NewNotification
from protocol.social import Notification, Notifications
from tui.client_events import ClientEventReceived
from tui.screens.base import RoostScreen
from tui.screens.profile import open_profile
from tui.screens.thread import ThreadScreen

VERBS = {
    "mention": "mentioned you",
    "reply": "replied to you",
    "like": "liked your post",
    "repost": "reposted your post",
    "follow": "followed you",
    "follow_request": "asks to follow you — a approve · x decline",
    "follow_accepted": "approved your follow request",
}


def render_notification(n: Notification) -> Text:
    text = Text()
    text.append("● " if n.unread else "  ", style="bold yellow")
    text.append(f"@{clean(n.actor)} ", style="bold")
    text.append(clean(VERBS.get(n.kind, n.kind)))
    text.append(f"  {n.created_at.astimezone():%Y-%m-%d %H:%M}", style="dim")
    if n.post is not None:
        text.append(f"\n  {clean(n.post.text, multiline=True)}", style="italic")
    return text


class NotificationItem(ListItem):
    def __init__(self, notification: Notification) -> None:
        super().__init__(Static(render_notification(notification)))
        self.notification = notification


class NotificationsScreen(RoostScreen):
    BINDINGS = [
        Binding("m", "mark_read", "Mark read"),
        Binding("p", "open_actor", "Profile"),
        Binding("a", "approve", "Approve"),
        Binding("x", "decline", "Decline"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def compose_body(self) -> Iterable[Widget]:
        yield Static(id="notifications-title", classes="section-title")
        yield Static(id="notifications-note")
        yield ListView(id="notifications")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#notifications", ListView).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="notifications")
    async def load(self) -> None:
        client = self.roost.client
        cached = await client.cached("notifications.list", "30:")
        if cached is not None:
            await self._show(cached, offline=True)
        try:
            answer = await client.social.notifications()
        except ClientError:
            return
        await self._show(answer.result, offline=answer.offline)

    async def _show(self, page: Notifications, *, offline: bool) -> None:
        title = f"Notifications — {page.unread} unread" if page.unread else "Notifications"
        self.query_one("#notifications-title", Static).update(
            title + (" (offline)" if offline else "")
        )
        view = self.query_one("#notifications", ListView)
        index = view.index
        await view.clear()
        await view.extend(NotificationItem(n) for n in page.notifications)
        if page.notifications:  # a reload keeps your place
            view.index = min(index or 0, len(page.notifications) - 1)
        empty = "Nothing yet: mentions, replies, likes, reposts and follows show up here."
        note = self.query_one("#notifications-note", Static)
        note.update("" if page.notifications else empty)
        note.display = not page.notifications

    def _highlighted(self) -> Notification | None:
        item = self.query_one("#notifications", ListView).highlighted_child
        return item.notification if isinstance(item, NotificationItem) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("approve", "decline"):  # shown only on a follow request
            note = self._highlighted()
            if note is None or note.kind != "follow_request":
                return False
        return super().check_action(action, parameters)

    @on(ListView.Highlighted, "#notifications")
    def _highlight_moved(self) -> None:
        self.refresh_bindings()

    def action_approve(self) -> None:
        self.answer(approve=True)

    def action_decline(self) -> None:
        self.answer(approve=False)

    @work(group="notifications-write")
    async def answer(self, *, approve: bool) -> None:
        """Approve or decline the highlighted follow request; the list then shows the
        request gone (approved: a follow in its place)."""
        note = self._highlighted()
        if note is None or note.kind != "follow_request":
            return
        social = self.roost.client.social
        try:
            written = await (social.approve(note.actor) if approve else social.decline(note.actor))
        except ServerError as exc:
            self.notify(exc.message, title="Not answered", severity="error")
            self.load()
            return
        except ClientError as exc:
            self.notify(str(exc), severity="error")
            return
        if written.queued:
            self.notify(f"@{clean(note.actor)}: will be answered when online")
            await self.roost.refresh_outbox()
            return
        done = "approved: follows you now" if approve else "declined"
        self.notify(f"@{clean(note.actor)} {done}")
        self.load()

    def action_open_actor(self) -> None:
        note = self._highlighted()
        if note is not None:
            open_profile(self.roost, note.actor)

    @on(ListView.Selected, "#notifications")
    def _open(self) -> None:
        """Enter: the post it is about, or for a follow, who followed you."""
        note = self._highlighted()
        if note is not None and note.post is not None:
            self.app.push_screen(ThreadScreen(note.post.id))
        elif note is not None:
            open_profile(self.roost, note.actor)

    @work(group="notifications-write")
    async def action_mark_read(self) -> None:
        try:
            await self.roost.client.social.mark_read()
        except ClientError as exc:
            self.notify(str(exc), severity="error")
            return
        self.load()

    def on_client_event_received(self, received: ClientEventReceived) -> None:
        if isinstance(received.event, NewNotification):
            self.load()
