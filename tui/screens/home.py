"""Home: your timeline, newest first, live; write, reply, like, repost, open a thread."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec
from textual import on, work
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Input, ListView, Static

from client.display import safe_text
from client.errors import ClientError, ServerError
from client.social import Social, check_post_text
from protocol.social import Deleted, Page, Post
from tui.messages import FollowChanged, ServerEvent, WriteAcked
from tui.screens.base import RoostScreen
from tui.screens.profile import open_profile
from tui.screens.thread import ThreadScreen
from tui.widgets.posts import PostItem

PAGE = 20


class HomeScreen(RoostScreen):
    BINDINGS = [
        Binding("n", "compose", "New post"),
        Binding("r", "reply", "Reply"),
        Binding("l", "like", "Like"),
        Binding("t", "repost", "Repost"),
        Binding("enter", "open_thread", "Thread", show=False),
        Binding("p", "open_author", "Author"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._next_before: str | None = None
        self._loading_more = False
        self._reply_to: Post | None = None

    def compose_body(self) -> Iterable[Widget]:
        yield Input(placeholder="What's happening? (Enter posts; 280 characters)", id="compose",
                    max_length=280)  # fmt: skip
        yield Static(id="compose-note")
        yield ListView(id="timeline")

    @property
    def social(self) -> Social:
        return Social(self.roost.client)

    @property
    def timeline(self) -> ListView:
        return self.query_one("#timeline", ListView)

    def on_mount(self) -> None:
        super().on_mount()
        self.timeline.focus()
        self.load()

    # ------------------------------------------------------------------ reading
    @work(exclusive=True, group="home-load")
    async def load(self) -> None:
        """Paint the first page from the cache at once, then ask the server."""
        client = self.roost.client
        me = client.home.require_account().username
        cached = await client.cache.get("timeline.home", f"{me}:{PAGE}:")
        if cached is not None:
            await self._show_page(msgspec.json.decode(cached.value, type=Page), replace=True)
        try:
            answer = await self.social.home(PAGE)
        except ClientError:
            if cached is None:
                self._note("offline, and nothing cached yet")
            return
        try:
            await self._show_page(answer.result, replace=True)
        except NoMatches:
            return  # the app closed while the answer was on its way
        self._note("offline: showing the cached timeline" if answer.offline else "")

    async def _show_page(self, page: Page, *, replace: bool) -> None:
        pending = (
            [i for i in self.timeline.query(PostItem) if i.pending_client_id] if replace else []
        )
        if replace:
            await self.timeline.clear()
            for item in pending:  # writes not yet acked stay on top
                await self.timeline.append(
                    PostItem(item.post, pending_client_id=item.pending_client_id)
                )
        shown = {i.post.id for i in self.timeline.query(PostItem)}
        for post in page.posts:
            if post.id not in shown:
                await self.timeline.append(PostItem(post))
        self._next_before = page.next_before
        if self.timeline.index is None and len(self.timeline):
            self.timeline.index = 0  # so the keys act on a post right away

    @on(ListView.Highlighted, "#timeline")
    def _near_the_end(self, event: ListView.Highlighted) -> None:
        index = self.timeline.index or 0
        if self._next_before and not self._loading_more and index >= len(self.timeline) - 3:
            self.load_more()

    @work(group="home-more")
    async def load_more(self) -> None:
        self._loading_more = True
        try:
            answer = await self.social.home(PAGE, self._next_before)
            await self._show_page(answer.result, replace=False)
        except ClientError:
            pass
        finally:
            self._loading_more = False

    def action_reload(self) -> None:
        self.load()

    # ------------------------------------------------------------------ writing
    def action_compose(self) -> None:
        self._reply_to = None
        self._note("")
        self.query_one("#compose", Input).focus()

    def _selected(self) -> PostItem | None:
        item = self.timeline.highlighted_child
        return item if isinstance(item, PostItem) else None

    def action_reply(self) -> None:
        item = self._selected()
        if item is None:
            return
        self._reply_to = item.post.original or item.post if item.post.repost_of else item.post
        self._note(f"replying to @{self._reply_to.author}")
        self.query_one("#compose", Input).focus()

    @on(Input.Submitted, "#compose")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value
        try:
            check_post_text(text)
        except ClientError as exc:
            self._note(str(exc))
            return
        event.input.value = ""
        self.publish(text, self._reply_to.id if self._reply_to else None)
        self._reply_to = None

    @work(group="home-write")
    async def publish(self, text: str, reply_to: str | None) -> None:
        try:
            written = await self.social.post(text, reply_to)
        except ServerError as exc:
            self._note(exc.message)
            return
        if written.queued:
            me = self.roost.client.home.require_account().username
            draft = Post(id=written.local_id or written.client_id, author=me, text=text,
                         created_at=datetime.now(UTC), reply_to=reply_to)  # fmt: skip
            await self.timeline.insert(0, [PostItem(draft, pending_client_id=written.client_id)])
            await self.roost.refresh_outbox()
        elif written.result is not None:
            await self._add_on_top(written.result)
        self.timeline.focus()

    def action_like(self) -> None:
        item = self._selected()
        if item is not None and not item.pending_client_id:
            self.toggle_like(item)

    @work(group="home-write")
    async def toggle_like(self, item: PostItem) -> None:
        post = item.post.original if item.post.repost_of and item.post.original else item.post
        try:
            written = await (
                self.social.unlike(post.id) if post.liked else self.social.like(post.id)
            )
        except ServerError as exc:
            self.notify(exc.message, severity="error")
            return
        if written.result is not None:
            updated = written.result
            item.update_post(msgspec.structs.replace(item.post, original=updated)
                             if item.post.repost_of else updated)  # fmt: skip
        else:
            self.notify("queued: sent when the server is back")

    def action_repost(self) -> None:
        item = self._selected()
        if item is not None and not item.pending_client_id:
            self.repost(item.post.repost_of or item.post.id)

    @work(group="home-write")
    async def repost(self, post_id: str) -> None:
        try:
            written = await self.social.repost(post_id)
        except ServerError as exc:
            self.notify(exc.message, severity="error")
            return
        if written.result is not None:
            await self._add_on_top(written.result)

    def action_open_thread(self) -> None:
        item = self._selected()
        if item is not None and not item.pending_client_id:
            self.app.push_screen(ThreadScreen(item.post.repost_of or item.post.id))

    @on(ListView.Selected, "#timeline")
    def _selected_row(self) -> None:
        self.action_open_thread()

    def action_open_author(self) -> None:
        item = self._selected()
        if item is not None:
            open_profile(self.roost, (item.post.original or item.post).author)

    # ------------------------------------------------------------------ live
    def on_follow_changed(self, message: FollowChanged) -> None:
        self.load()  # a follow copies their recent posts in; an unfollow takes them out

    async def _add_on_top(self, post: Post) -> None:
        if any(i.post.id == post.id for i in self.timeline.query(PostItem)):
            return
        await self.timeline.insert(0, [PostItem(post)])

    async def on_server_event(self, message: ServerEvent) -> None:
        if message.name == "post.created" and isinstance(message.data, Post):
            await self._add_on_top(message.data)
        elif message.name == "post.deleted" and isinstance(message.data, Deleted):
            gone = message.data.post_id
            for item in list(self.timeline.query(PostItem)):
                if gone in (item.post.id, item.post.repost_of):
                    await item.remove()

    async def on_write_acked(self, message: WriteAcked) -> None:
        if message.op in ("follow.add", "follow.remove"):
            self.load()
        for item in self.timeline.query(PostItem):
            if item.pending_client_id == message.client_id and isinstance(message.result, Post):
                item.update_post(message.result)

    def _note(self, text: str) -> None:
        self.query_one("#compose-note", Static).update(safe_text(text))
