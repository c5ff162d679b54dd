"""Explore: search people, posts, #tags, your messages and your files' names (a section for
each kind found); trending tags; people to follow.

Trending tags and suggestions paint from the cache at once and then refresh; a search needs
the server, except that a search already made is answered from the cache while offline.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, ListItem, ListView, Static

from client.display import safe_text
from client.errors import ClientError, ServerError
from client.events import FollowChanged, WriteAcked
from protocol.social import SearchResult, Suggestions, TrendingTags
from tui.client_events import ClientEventReceived
from tui.screens.base import RoostScreen
from tui.screens.messages import MessagesScreen
from tui.screens.profile import open_profile
from tui.screens.thread import ThreadScreen
from tui.widgets.explore import (
    FileItem,
    MessageItem,
    SectionTitle,
    SuggestionRow,
    TagItem,
    UserItem,
    counted,
)
from tui.widgets.posts import PostItem
from tui.widgets.profile import FollowButton

# The cache keys of Social.trending() and Social.suggest() with their default arguments.
TRENDING_KEY = "24:10"
SUGGEST_KEY = "10"
SEARCH_HINT = (
    "Type a name, some words or a #tag above and press Enter: people, posts, tags, your"
    " messages and your files.\nOr pick a trending tag on the right."
)


NOUNS = {
    "People": ("person", "people"),
    "Posts": ("post", "posts"),
    "Tags": ("tag", "tags"),
    "Messages": ("message", "messages"),
    "Files": ("file", "files"),
}


class ExploreScreen(RoostScreen):
    BINDINGS = [
        # Priority: the search box has the focus on arrival, and there "/" was typed as text.
        Binding("slash", "search", "Search", priority=True),
        Binding("p", "open_profile", "Profile"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def compose_body(self) -> Iterable[Widget]:
        yield Input(
            placeholder="Search people, posts, #tags, your messages and files, then Enter",
            id="explore-search",
            max_length=200,
        )
        with Horizontal(id="explore-body"):
            with Vertical(id="explore-main"):
                yield Static("Search", id="results-title", classes="section-title")
                yield Static(SEARCH_HINT, id="results-note")
                yield ListView(id="results")
            with VerticalScroll(id="explore-side", can_focus=False):
                yield Static("Trending", classes="section-title")
                yield Static(id="trending-note")
                yield ListView(id="trending")
                yield Static("Who to follow", classes="section-title")
                yield Static(id="suggestions-note")
                yield Vertical(id="suggestions")

    @property
    def search_box(self) -> Input:
        return self.query_one("#explore-search", Input)

    @property
    def results(self) -> ListView:
        return self.query_one("#results", ListView)

    def on_mount(self) -> None:
        super().on_mount()
        self.search_box.focus()
        self.load()

    def action_reload(self) -> None:
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "search":  # in a query being typed, "/" is part of it
            return None if self.focused is self.search_box and self.search_box.value else True
        return super().check_action(action, parameters)

    def action_search(self) -> None:
        self.search_box.focus()
        self.search_box.select_all()  # what one types next replaces the last query

    # ------------------------------------------------------------------ trending, suggestions
    @work(exclusive=True, group="explore-load")
    async def load(self) -> None:
        client = self.roost.client
        trending = await client.cached("trending.tags", TRENDING_KEY)
        if trending is not None:
            await self._show_trending(trending)
        suggestions = await client.cached("suggest.follows", SUGGEST_KEY)
        if suggestions is not None:
            await self._show_suggestions(suggestions)
        social = self.roost.client.social
        try:
            await self._show_trending((await social.trending()).result)
            await self._show_suggestions((await social.suggest()).result)
        except ClientError:
            offline = "offline, and nothing cached yet"
            if trending is None:
                self._note("#trending-note", offline)
            if suggestions is None:
                self._note("#suggestions-note", offline)

    async def _show_trending(self, trending: TrendingTags) -> None:
        view = self.query_one("#trending", ListView)
        await view.clear()
        await view.extend(TagItem(tag) for tag in trending.tags)
        if trending.tags:
            view.index = 0  # Enter picks a tag as soon as the list has the focus
        empty = f"No hashtags in the last {trending.hours} hours."
        self._note("#trending-note", "" if trending.tags else empty)

    async def _show_suggestions(self, suggestions: Suggestions) -> None:
        box = self.query_one("#suggestions", Vertical)
        # A follow already made here (or queued) keeps its row until the next visit.
        kept = {r.suggestion.username for r in box.query(SuggestionRow) if r.button.following}
        await box.remove_children(
            [r for r in box.query(SuggestionRow) if r.suggestion.username not in kept]
        )
        await box.mount_all(SuggestionRow(s) for s in suggestions.users if s.username not in kept)
        empty = "No suggestions yet: follow someone, and the people they follow show up here."
        self._note("#suggestions-note", "" if suggestions.users or kept else empty)

    def on_client_event_received(self, received: ClientEventReceived) -> None:
        match received.event:
            case FollowChanged(profile=profile):
                # Followed or unfollowed elsewhere (a profile): the suggestion's button agrees.
                for button in self.query(FollowButton):
                    if button.username == profile.username:
                        button.set_following(profile.you_follow)
            case WriteAcked(client_id=client_id, result=result):
                for button in self.query(FollowButton):
                    if button.acked(client_id, result):
                        return

    # ------------------------------------------------------------------ search
    @on(Input.Submitted, "#explore-search")
    def _submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if query:
            self.search(query)

    @on(ListView.Selected, "#trending")
    def _tag_chosen(self, event: ListView.Selected) -> None:
        if isinstance(event.item, TagItem):
            self.search_box.value = f"#{event.item.tag.tag}"
            self.search(self.search_box.value)

    @work(exclusive=True, group="explore-search")
    async def search(self, query: str) -> None:
        title = self.query_one("#results-title", Static)
        title.update(safe_text(f"Searching for “{query}”…"))
        try:
            answer = await self.roost.client.social.search(query)
        except ServerError as exc:
            await self._no_results(exc.message)
            return
        except ClientError:
            await self._no_results("Offline: searching needs the server.")
            return
        await self._show_results(query, answer.result, offline=answer.offline)

    async def _show_results(self, query: str, found: SearchResult, *, offline: bool) -> None:
        sections: list[tuple[str, list[ListItem]]] = [
            ("People", [UserItem(user) for user in found.users]),
            ("Posts", [PostItem(post) for post in found.posts]),
            ("Tags", [TagItem(tag) for tag in found.tags]),
            ("Messages", [MessageItem(hit) for hit in found.messages]),
            ("Files", [FileItem(hit) for hit in found.files]),
        ]
        shown = [(title, items) for title, items in sections if items]
        counts = ", ".join(counted(len(items), *NOUNS[title]) for title, items in shown)
        title = f"“{query}”: {counts or 'nothing found'}" + (" (offline)" if offline else "")
        self.query_one("#results-title", Static).update(safe_text(title))
        await self.results.clear()
        for section, items in shown:
            await self.results.extend([SectionTitle(f"{section} ({len(items)})"), *items])
        self._note("#results-note", "" if shown else "Nothing found.")
        if shown:
            self.results.index = 1  # the first hit, under its section's title
            self.results.focus()

    async def _no_results(self, why: str) -> None:
        self.query_one("#results-title", Static).update("Search")
        await self.results.clear()  # older results under a new query would mislead
        self._note("#results-note", why)

    @on(ListView.Selected, "#results")
    def _result_chosen(self, event: ListView.Selected) -> None:
        item = event.item
        if isinstance(item, UserItem):
            open_profile(self.roost, item.user.username)
        elif isinstance(item, PostItem):
            self.app.push_screen(ThreadScreen(item.post.repost_of or item.post.id))
        elif isinstance(item, TagItem):
            self.search_box.value = f"#{item.tag.tag}"
            self.search(self.search_box.value)
        elif isinstance(item, MessageItem):
            self.open_conversation(item)
        elif isinstance(item, FileItem):
            self.app.switch_mode("files")

    @work(group="explore-open")
    async def open_conversation(self, item: MessageItem) -> None:
        """The Messages screen, with the message's conversation open."""
        hit = item.hit
        named = hit.conversation_kind == "direct" and hit.conversation_name
        await self.app.switch_mode("messages")
        screen = self.app.screen
        if isinstance(screen, MessagesScreen):  # as its own list opens one (conversation_target)
            target = f"@{hit.conversation_name}" if named else hit.conversation
            screen.open(target, hit.conversation)

    def action_open_profile(self) -> None:
        """The person under the cursor: a found user, a post's author, a suggestion."""
        focused = self.focused
        if isinstance(focused, FollowButton):
            open_profile(self.roost, focused.username)
            return
        item = self.results.highlighted_child
        if isinstance(item, UserItem):
            open_profile(self.roost, item.user.username)
        elif isinstance(item, PostItem):
            open_profile(self.roost, (item.post.original or item.post).author)

    def _note(self, selector: str, text: str) -> None:
        note = self.query_one(selector, Static)
        note.update(safe_text(text, multiline=True))
        note.display = bool(text)
