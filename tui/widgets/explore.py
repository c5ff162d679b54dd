"""Explore widgets: what a search found (a section title, a person, a tag, a message of yours,
a file of yours), a trending tag, and a suggestion to follow."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ListItem, Static

from client.display import clean
from protocol.sizes import format_size
from protocol.social import FileHit, MessageHit, Suggestion, Tag, UserCard
from tui.widgets.profile import FollowButton


def counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def render_user(user: UserCard) -> Text:
    text = Text()
    text.append(f"@{clean(user.username)}", style="bold")
    if user.display_name:
        text.append(f"  {clean(user.display_name)}")
    followers = counted(user.followers, "follower", "followers")
    text.append(f"\n{followers} · {user.following} following", style="dim")
    return text


def render_tag(tag: Tag) -> Text:
    text = Text()
    text.append(f"#{clean(tag.tag)}", style="bold")
    posts, people = counted(tag.posts, "post", "posts"), counted(tag.authors, "person", "people")
    text.append(f"  {posts} · {people}", style="dim")
    return text


def render_message_hit(hit: MessageHit) -> Text:
    text = Text()
    direct = hit.conversation_kind == "direct"
    where = f"@{clean(hit.conversation_name)}" if direct else f"# {clean(hit.conversation_name)}"
    text.append(where, style="bold")
    if not direct or hit.sender != hit.conversation_name:
        text.append(f" › @{clean(hit.sender)}")
    text.append(f"  {hit.sent_at.astimezone():%Y-%m-%d %H:%M}", style="dim")
    text.append(f"\n{clean(hit.text)}")
    return text


def file_place(hit: FileHit) -> str:
    """Where the file is, as the person's workspace shows it: a share under its folder."""
    return f"{hit.namespace}/{hit.path}" if hit.namespace else hit.path


def render_file_hit(hit: FileHit) -> Text:
    text = Text()
    folder = hit.kind == "dir"
    text.append(("📁 " if folder else "📄 ") + clean(file_place(hit)), style="bold")
    if not folder:
        text.append(f"  {format_size(hit.size)}", style="dim")
    return text


def render_suggestion(s: Suggestion) -> Text:
    text = Text()
    text.append(f"@{clean(s.username)}", style="bold")
    if s.display_name:
        text.append(f"  {clean(s.display_name)}")
    why = ", ".join(f"@{clean(u)}" for u in s.followed_by[:2])
    more = s.mutuals - len(s.followed_by[:2])
    if why:
        text.append(f"\nfollowed by {why}" + (f" +{more}" if more > 0 else ""), style="dim")
    return text


class UserItem(ListItem):
    """A person found by a search; Enter opens their profile."""

    def __init__(self, user: UserCard) -> None:
        super().__init__(Static(render_user(user)))
        self.user = user


class SectionTitle(ListItem):
    """The title of one kind of search result; the cursor passes over it."""

    def __init__(self, title: str) -> None:
        super().__init__(Static(Text(title, style="bold underline")), disabled=True)
        self.add_class("result-section")


class MessageItem(ListItem):
    """A message of yours found by a search; Enter opens its conversation."""

    def __init__(self, hit: MessageHit) -> None:
        super().__init__(Static(render_message_hit(hit)))
        self.hit = hit


class FileItem(ListItem):
    """A file or folder of yours found by a search; Enter opens Files."""

    def __init__(self, hit: FileHit) -> None:
        super().__init__(Static(render_file_hit(hit)))
        self.hit = hit


class TagItem(ListItem):
    """A hashtag (trending, or found by a search); Enter searches it."""

    def __init__(self, tag: Tag) -> None:
        super().__init__(Static(render_tag(tag)))
        self.tag = tag


class SuggestionRow(Horizontal):
    """Someone your friends follow, with a Follow button."""

    def __init__(self, suggestion: Suggestion) -> None:
        super().__init__(classes="suggestion")
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        yield Static(render_suggestion(self.suggestion), classes="suggestion-text")
        yield FollowButton(self.suggestion.username, compact=True)

    @property
    def button(self) -> FollowButton:
        return self.query_one(FollowButton)
