"""Posts as list rows, and the box you write one in."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import ListItem

from client.display import clean, safe_text
from protocol.sizes import format_size
from protocol.social import Post


def render_post(post: Post, *, pending: bool = False) -> Text:
    """A post as its row draws it; what its author wrote is shown through client.display."""
    main = post.original if post.repost_of and post.original else post
    text = Text()
    if post.repost_of:
        text.append(f"↻ @{clean(post.author)} reposted\n", style="dim")
    text.append(f"@{clean(main.author)}", style="bold")
    text.append(f"  {main.created_at.astimezone():%Y-%m-%d %H:%M}", style="dim")
    if main.reply_to:
        text.append("  ↩ reply", style="dim")
    if pending:
        text.append("  pending — will be sent when online", style="bold yellow")
    text.append("\n")
    text.append(safe_text(main.text, multiline=True))
    text.append("\n")
    for att in main.attachments:  # fetched with `roost media get POST_ID`
        text.append(f"📎 {clean(att.name)}", style="cyan")
        text.append(f"  {format_size(att.size)}\n", style="dim")
    heart = "♥" if main.liked else "♡"
    text.append(
        f"{heart} {main.like_count}   ↻ {main.repost_count}   ↩ {main.reply_count}", style="dim"
    )
    return text


class PostItem(ListItem):
    """One post in a timeline; `key` is its id (or the client id while it is pending).

    The row draws its post itself, with no child widget: a timeline's first paint styles,
    lays out and renders half as many widgets (bench/tui_startup.py)."""

    def __init__(self, post: Post, *, pending_client_id: str | None = None) -> None:
        super().__init__()
        self.post = post
        self.pending_client_id = pending_client_id
        self._text = render_post(post, pending=pending_client_id is not None)

    def render(self) -> Text:
        return self._text

    def update_post(self, post: Post) -> None:
        self.post = post
        self.pending_client_id = None
        self._text = render_post(post)
        self.refresh(layout=True)
