"""A post with the posts it answers and its replies, each reply indented under what it answers
(client.timeline.thread_rows); the highlighted post can be replied to, liked and reposted.

`on_change`, when given, hears each post whose counts changed here (and, with `new` true,
a reply written here), so the screen that opened the thread shows them too."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, ListView, Static

from client.display import safe_text
from client.errors import ClientError, ServerError
from client.social import Social, check_post_text
from client.timeline import thread_rows
from protocol.social import Post
from tui.widgets.posts import PostItem

HINT = "Esc close · r reply · l like · t repost · p author's profile"


class ThreadItem(PostItem):
    """A post of the thread, indented by how deep its reply is."""

    def __init__(self, post: Post, depth: int, *, focus: bool = False) -> None:
        super().__init__(post)
        self.depth = depth
        self.styles.padding = (0, 1, 0, 1 + 3 * min(depth, 8))
        if focus:
            self.add_class("thread-focus")


class ThreadScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("p", "open_author", "Author"),
        Binding("r", "reply", "Reply"),
        Binding("l", "like", "Like"),
        Binding("t", "repost", "Repost"),
    ]

    def __init__(
        self, post_id: str, on_change: Callable[[Post, bool], object] | None = None
    ) -> None:
        super().__init__()
        self._post_id = post_id
        self._on_change = on_change
        self._reply_to: Post | None = None

    def compose(self) -> ComposeResult:
        box = Vertical(
            Static("loading…", id="thread-note"),
            ListView(id="thread-posts"),
            Input(
                placeholder="Your reply (Enter sends, Esc cancels)",
                id="thread-reply",
                max_length=280,
            ),
            id="thread-box",
        )
        box.border_subtitle = HINT  # a modal has no footer
        yield box

    @property
    def social(self) -> Social:
        from tui.app import RoostApp

        assert isinstance(self.app, RoostApp)
        return self.app.client.social

    @property
    def posts(self) -> ListView:
        return self.query_one("#thread-posts", ListView)

    @property
    def reply_box(self) -> Input:
        return self.query_one("#thread-reply", Input)

    def on_mount(self) -> None:
        self.reply_box.display = False
        self.posts.focus()
        self.load()

    @work(exclusive=True, group="thread-load")
    async def load(self, *, after_write: bool = False) -> None:
        try:
            answer = await self.social.thread(self._post_id)
        except ClientError as exc:
            self._note(f"cannot open this thread: {exc}")
            return
        rows = thread_rows(answer.result)
        keep = self._selected()
        await self.posts.clear()
        await self.posts.extend(ThreadItem(r.post, r.depth, focus=r.focus) for r in rows)
        ids = [r.post.id for r in rows]
        wanted = keep.post.id if keep is not None else self._post_id
        self.posts.index = ids.index(wanted) if wanted in ids else 0
        self._note("(offline copy)" if answer.offline else "")
        if after_write and self._on_change is not None:
            for row in rows:  # a reply's or repost's new counts, for the screen beneath
                self._on_change(row.post, False)

    def _note(self, text: str) -> None:
        self.query_one("#thread-note", Static).update(safe_text(text))

    def _selected(self) -> ThreadItem | None:
        item = self.posts.highlighted_child
        return item if isinstance(item, ThreadItem) else None

    def _acted_on(self) -> Post | None:
        item = self._selected()
        if item is None:
            return None
        post = item.post
        return post.original if post.repost_of and post.original else post

    # ------------------------------------------------------------------ actions
    def action_dismiss(self) -> None:  # type: ignore[override]
        if self.reply_box.display:  # Esc leaves the reply first
            self._end_reply()
            return
        self.dismiss()

    def action_reply(self) -> None:
        post = self._acted_on()
        if post is None:
            return
        self._reply_to = post
        self._note(f"replying to @{post.author}")
        self.reply_box.display = True
        self.reply_box.focus()

    def _end_reply(self) -> None:
        self._reply_to = None
        self.reply_box.value = ""
        self.reply_box.display = False
        self._note("")
        self.posts.focus()

    @on(Input.Submitted, "#thread-reply")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._reply_to is None:
            return
        try:
            check_post_text(event.value)
        except ClientError as exc:
            self._note(str(exc))  # the text stays, to be fixed
            return
        self.send_reply(event.value, self._reply_to)

    @work(group="thread-write")
    async def send_reply(self, text: str, parent: Post) -> None:
        try:
            written = await self.social.post(text, parent.id)
        except ServerError as exc:
            self._note(exc.message)  # the text stays
            return
        self._end_reply()
        if written.queued or written.result is None:
            self.notify("reply queued: sent when the server is back")
            return
        if self._on_change is not None:
            self._on_change(written.result, True)
        self.load(after_write=True)  # the reply under its parent, the counts raised

    def action_like(self) -> None:
        post = self._acted_on()
        if post is not None:
            self.toggle_like(post)

    @work(group="thread-write")
    async def toggle_like(self, post: Post) -> None:
        try:
            written = await self.social.toggle_like(post)
        except ServerError as exc:
            self.notify(exc.message, severity="error")
            return
        if written.result is None:
            self.notify("queued: sent when the server is back")
            return
        self._changed(written.result)

    def action_repost(self) -> None:
        post = self._acted_on()
        if post is not None:
            self.repost(post)

    @work(group="thread-write")
    async def repost(self, post: Post) -> None:
        try:
            written = await self.social.repost(post.id)
        except ServerError as exc:
            self.notify(exc.message, severity="error")
            return
        if written.result is None:
            self.notify("repost queued: sent when the server is back")
            return
        self.notify(f"reposted @{post.author}'s post")
        self.load(after_write=True)  # the repost count

    def _changed(self, post: Post) -> None:
        """A post's new counts: in place here, and for the screen that opened the thread."""
        for item in self.posts.query(ThreadItem):
            if item.post.id == post.id:
                item.update_post(post)
        if self._on_change is not None:
            self._on_change(post, False)

    def action_open_author(self) -> None:
        from tui.app import RoostApp
        from tui.screens.profile import open_profile

        post = self._acted_on()
        if post is not None and isinstance(self.app, RoostApp):
            open_profile(self.app, post.author)
