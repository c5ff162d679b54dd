"""Home: your timeline, newest first, live; write, reply, like, repost, open a thread.

The timeline's state is the client's `Timeline` model, changed by pages, typed events and
this screen's writes; `_show_model` makes the list show it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Input, ListView, Static

from client.display import safe_text
from client.errors import ClientError, ServerError
from client.events import FollowChanged, NewPost, PostDeleted, WriteAcked
from client.social import Social, chars_left, check_post_text, post_counter
from client.timeline import Entry, Timeline
from protocol.social import Page, Post
from tui.client_events import ClientEventReceived
from tui.screens.base import RoostScreen
from tui.widgets.posts import PostItem

PAGE = 20
# A post's row is at least 4 lines (author, text, counts, rule); the header, nav line,
# compose box, note, status bar and footer take 8. The first layout holds the rows the
# terminal can show, no more: each row is styled, laid out and drawn before the first frame.
POST_MIN_LINES = 4
AROUND_TIMELINE_LINES = 8
EMPTY_HOME = (
    "Nothing here yet: your timeline shows your posts and those of the people you follow.\n"
    "Find people on Explore (F8): who to follow, trending tags, search; or run"
    " `roost suggest` in a terminal. Write your first post above."
)


class HomeScreen(RoostScreen):
    BINDINGS = [
        Binding("n", "compose", "New post"),
        Binding("r", "reply", "Reply"),
        Binding("l", "like", "Like"),
        Binding("t", "repost", "Repost"),
        Binding("enter", "open_thread", "Thread", show=False),
        Binding("p", "open_author", "Author"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("escape", "to_timeline", "Timeline"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.model = Timeline()
        self._loading_more = False
        self._reply_to: Post | None = None
        self._sending = False  # one post on its way at a time: Enter twice posts once

        self._paged = False  # a page (cached or the server's) has been shown
        self._drawing = asyncio.Lock()

    def compose_body(self) -> Iterable[Widget]:
        # No max_length: a longer text is not cut silently, the counter says what is over.
        yield Input(placeholder="What's happening? (Enter posts; Esc goes to the timeline)",
                    id="compose")  # fmt: skip
        with Horizontal(id="compose-status"):
            yield Static(id="compose-note")
            yield Static(post_counter(""), id="compose-count")
        yield Static(id="home-empty")
        # The cached page the app read before making this screen: in the first layout, not a
        # second one (bench/tui_startup.py measures this first paint).
        first, self.roost.first_home_page = self.roost.first_home_page, None
        if first is not None:
            self.model.show_page(first, replace=True)
            self._paged = True
        # Only what the terminal shows goes into the first layout; the rest follows it.
        first_rows = self.model.entries[: first_paint_rows(self.app.size.height)]
        yield ListView(*(_item(e) for e in first_rows), id="timeline")

    @property
    def social(self) -> Social:
        return self.roost.client.social

    @property
    def timeline(self) -> ListView:
        return self.query_one("#timeline", ListView)

    def on_mount(self) -> None:
        super().on_mount()
        self.compose_box.focus()  # what a person types on arrival is a post
        if len(self.timeline):
            self.timeline.index = 0  # so the keys act on a post once in the list
        if len(self.timeline) < len(self.model.entries):
            self.call_after_refresh(self._show_model)  # the posts below the first screenful
        if self._paged:  # the cached posts paint first; asking the server waits for that
            self.call_after_refresh(self.load)
        else:
            self.load()

    @property
    def compose_box(self) -> Input:
        return self.query_one("#compose", Input)

    def action_to_timeline(self) -> None:
        self.timeline.focus()

    # ------------------------------------------------------------------ reading
    @work(exclusive=True, group="home-load")
    async def load(self) -> None:
        """Paint the first page from the cache at once, then ask the server."""
        try:
            await self._load()
        except NoMatches:
            return  # the app closed while a page was on its way (a reload after a follow)

    async def _load(self) -> None:
        had_page = self._paged  # the cached page came with the screen (or a load before)
        cached = None if had_page else await self.social.cached_home(PAGE)
        if cached is not None:
            await self._show_page(cached, replace=True)
        try:
            answer = await self.social.home(PAGE)
        except ClientError:
            if cached is None and not had_page:
                self._note("offline, and nothing cached yet")
            return
        await self._show_page(answer.result, replace=True)
        self._note("offline: showing the cached timeline" if answer.offline else "")

    async def _show_page(self, page: Page, *, replace: bool) -> None:
        self.model.show_page(page, replace=replace)
        self._paged = True
        await self._show_model(rebuild=replace)

    async def _show_model(self, *, rebuild: bool = False) -> None:
        """Make the list show the model: new entries on top or at the end, gone ones out,
        changed ones redrawn in place (the highlighted row stays where it is). One at a
        time: two passes over the same rows at once would each add what is missing."""
        async with self._drawing:
            await self._draw_model(rebuild=rebuild)

    async def _draw_model(self, *, rebuild: bool) -> None:
        entries = self.model.entries
        items = list(self.timeline.query(PostItem))
        keys = [_key(i) for i in items]
        wanted = [e.key for e in entries]
        if rebuild and keys != wanted:
            await self.timeline.clear()
            await self.timeline.extend(_item(e) for e in entries)
        else:
            for item in items:
                if _key(item) not in wanted:
                    await item.remove()
            kept = [k for k in keys if k in wanted]
            on_top = wanted[: wanted.index(kept[0])] if kept else wanted
            at_end = wanted[wanted.index(kept[-1]) + 1 :] if kept else []
            by_key = {e.key: e for e in entries}
            if on_top:
                await self.timeline.insert(0, [_item(by_key[k]) for k in on_top])
            if at_end:
                await self.timeline.extend(_item(by_key[k]) for k in at_end)
            for item in self.timeline.query(PostItem):
                entry = by_key.get(_key(item))
                if entry is not None and entry.post is not item.post:
                    item.update_post(entry.post)
            if [_key(i) for i in self.timeline.query(PostItem)] != wanted:
                await self._draw_model(rebuild=True)  # an order the steps above cannot reach
                return
        self._show_empty_hint()
        if self.timeline.index is None and len(self.timeline):
            self.timeline.index = 0  # so the keys act on a post right away

    def _show_empty_hint(self) -> None:
        """An empty home says how to find people (once a page has said it is empty)."""
        hint = self.query_one("#home-empty", Static)
        hint.display = not self.model.entries and self._paged
        hint.update(EMPTY_HOME)

    @on(ListView.Highlighted, "#timeline")
    def _near_the_end(self, event: ListView.Highlighted) -> None:
        index = self.timeline.index or 0
        if self.model.next_before and not self._loading_more and index >= len(self.timeline) - 3:
            self.load_more()

    @work(group="home-more")
    async def load_more(self) -> None:
        self._loading_more = True
        try:
            answer = await self.social.home(PAGE, self.model.next_before)
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
        self.compose_box.focus()

    @on(Input.Changed, "#compose")
    def _count(self, event: Input.Changed) -> None:
        counter = self.query_one("#compose-count", Static)
        counter.update(post_counter(event.value))
        counter.set_class(chars_left(event.value) < 0, "over")

    def _selected(self) -> PostItem | None:
        item = self.timeline.highlighted_child
        return item if isinstance(item, PostItem) else None

    def action_reply(self) -> None:
        item = self._selected()
        if item is None:
            return
        self._reply_to = item.post.original or item.post if item.post.repost_of else item.post
        self._note(f"replying to @{self._reply_to.author}")
        self.compose_box.focus()

    @on(Input.Submitted, "#compose")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value
        if self._sending:
            return
        try:
            check_post_text(text)  # the CLI's rule and words
        except ClientError as exc:
            self._note(str(exc))
            return
        self._sending = True
        self.publish(text, self._reply_to.id if self._reply_to else None)

    @work(group="home-write")
    async def publish(self, text: str, reply_to: str | None) -> None:
        try:
            written = await self.social.post(text, reply_to)
        except ServerError as exc:
            self._note(exc.message)  # the text stays in the box, to fix and send again
            return
        finally:
            self._sending = False
        if self.compose_box.value == text:
            self.compose_box.value = ""
        self._reply_to = None
        self._note("")
        if written.queued:
            me = self.roost.client.home.require_account().username
            draft = Post(id=written.local_id or written.client_id, author=me, text=text,
                         created_at=datetime.now(UTC), reply_to=reply_to)  # fmt: skip
            self.model.queued(draft, written.client_id)
            await self._show_model()
            await self.roost.refresh_outbox()
        elif written.result is not None:
            await self._add_on_top(written.result)

    def action_like(self) -> None:
        item = self._selected()
        if item is not None and not item.pending_client_id:
            self.toggle_like(item)

    @work(group="home-write")
    async def toggle_like(self, item: PostItem) -> None:
        post = item.post.original if item.post.repost_of and item.post.original else item.post
        try:
            written = await self.social.toggle_like(post)
        except ServerError as exc:
            self.notify(exc.message, severity="error")
            return
        if written.result is not None:
            self.model.updated(written.result)  # wherever it shows, reposts of it too
            await self._show_model()
        else:
            self.notify("queued: sent when the server is back")
            await self.roost.refresh_outbox()

    def action_repost(self) -> None:
        """A repost shows to all one's followers at once: ask first."""
        item = self._selected()
        if item is None or item.pending_client_id:
            return
        original = item.post.original or item.post if item.post.repost_of else item.post
        post_id = item.post.repost_of or item.post.id

        def answered(yes: bool | None) -> None:
            if yes:
                self.repost(post_id)

        question = f"Repost @{original.author}'s post to everyone who follows you?"
        from tui.screens.confirm import ConfirmScreen  # imported when first used (start-up)

        self.app.push_screen(ConfirmScreen(question, "Repost"), answered)

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
        from tui.screens.thread import ThreadScreen  # imported when first opened (start-up)

        item = self._selected()
        if item is not None and not item.pending_client_id:
            self.app.push_screen(
                ThreadScreen(item.post.repost_of or item.post.id, on_change=self._changed_in_thread)
            )

    def _changed_in_thread(self, post: Post, new: bool) -> None:
        """A like in the thread shows here too, in place; a reply written there, on top."""
        if self.model.arrived(post) if new else self.model.updated(post):
            self.call_later(self._show_model)

    @on(ListView.Selected, "#timeline")
    def _selected_row(self) -> None:
        self.action_open_thread()

    def action_open_author(self) -> None:
        from tui.screens.profile import open_profile  # imported when first used (start-up)

        item = self._selected()
        if item is not None:
            open_profile(self.roost, (item.post.original or item.post).author)

    # ------------------------------------------------------------------ live
    async def _add_on_top(self, post: Post) -> None:
        if self.model.arrived(post):
            await self._show_model()

    async def on_client_event_received(self, received: ClientEventReceived) -> None:
        match received.event:
            case NewPost(post=post):
                await self._add_on_top(post)
            case PostDeleted(post_id=post_id):
                if self.model.deleted(post_id):
                    await self._show_model()
            case FollowChanged():
                self.load()  # a follow copies their recent posts in; an unfollow takes them out
            case WriteAcked(client_id=client_id, op=op, result=Post() as post):
                await self._acked(client_id, op, post)

    async def _acked(self, client_id: str, op: str, post: Post) -> None:
        """A queued write reached the server: a pending post is sent in place; a post queued
        elsewhere (a CLI command) arrives on top; a like or unlike shows its new counts."""
        if self.model.acked(client_id, post):
            for item in self.timeline.query(PostItem):
                if item.pending_client_id == client_id:
                    item.update_post(post)  # sent, in place
        elif op in ("post.create", "post.repost"):
            self.model.arrived(post)
        else:
            self.model.updated(post)
        await self._show_model()

    def _note(self, text: str) -> None:
        self.query_one("#compose-note", Static).update(safe_text(text))


def first_paint_rows(terminal_lines: int) -> int:
    """How many posts can show at once on a terminal this tall (at least one)."""
    return max(1, -(-(terminal_lines - AROUND_TIMELINE_LINES) // POST_MIN_LINES))


def _key(item: PostItem) -> str:
    return item.pending_client_id or item.post.id


def _item(entry: Entry) -> PostItem:
    return PostItem(entry.post, pending_client_id=entry.pending_client_id)
