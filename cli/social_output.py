"""How posts, timelines, people, search results and notifications look on a terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cli import output
from cli.output import line
from client.display import clean
from protocol import social as wire

if TYPE_CHECKING:
    from rich.text import Text


def post_text(post: wire.Post, *, indent: str = "", number: int | None = None) -> Text:
    """A post as a terminal shows it; `number`: its `#N` in the listing being printed."""
    from rich.text import Text  # rich loads only when something is drawn (not for --json)

    shown = post.original if post.original is not None else post
    text = Text(indent)
    if number is not None:
        text.append(f"#{number}  ", style="dim")
    if post.original is not None:
        text.append(f"↻ @{line(post.author)} reposted\n{indent}", style="dim")
    text.append(f"@{line(shown.author)}", style="bold")
    text.append(f"  {output.when(shown.created_at)}  id {shown.id}", style="dim")
    if shown.reply_to:
        text.append(f"  ↩ {shown.reply_to}", style="dim")
    text.append("\n" + indent)
    text.append(clean(shown.text, multiline=True).replace("\n", "\n" + indent))
    for att in shown.attachments:
        text.append(f"\n{indent}📎 {line(att.name)}", style="cyan")
        text.append(f"  {output.size(att.size)}  id {att.id}", style="dim")
    heart = "♥" if shown.liked else "♡"
    counts = f"{heart} {shown.like_count}   ↻ {shown.repost_count}   ↩ {shown.reply_count}"
    text.append(f"\n{indent}{counts}", style="dim")
    return text


def print_post(post: wire.Post) -> None:
    output.stdout.print(post_text(post))


def shown_id(post: wire.Post) -> str:
    """The id a listing shows for a post (a repost shows the original's)."""
    return post.original.id if post.original is not None else post.id


def print_posts(posts: list[wire.Post], empty: str, *, first: int = 1) -> None:
    """Numbered from `first`: the `#N` that commands taking a post id accept."""
    if not posts:
        output.note(empty)
        return
    for i, post in enumerate(posts):
        if i:
            output.stdout.print()
        output.stdout.print(post_text(post, number=first + i))


def print_page(page: wire.Page, empty: str) -> None:
    print_posts(page.posts, empty)
    if page.next_before is not None:
        output.note(f"older: --before {page.next_before}")


def thread_posts(thread: wire.Thread) -> list[wire.Post]:
    """The thread's posts in the order they are printed (and numbered)."""
    return [*thread.ancestors, thread.post, *thread.replies]


def print_thread(thread: wire.Thread) -> None:
    number = 1
    for post in thread.ancestors:
        output.stdout.print(post_text(post, number=number))
        output.stdout.print("│", style="dim")
        number += 1
    output.stdout.print(post_text(thread.post, number=number))
    for reply in thread.replies:
        number += 1
        output.stdout.print()
        output.stdout.print(post_text(reply, indent="    ", number=number))


def print_users(users: list[wire.UserCard], empty: str) -> None:

    if not users:
        output.note(empty)
        return
    rows = [[f"@{u.username}", u.display_name, str(u.followers), str(u.following)] for u in users]
    output.table(["user", "name", "followers", "following"], rows)


def print_search(found: wire.SearchResult, query: str) -> None:
    """What search found, a section per kind that found something."""
    sections: list[tuple[str, Callable[[], None]]] = []
    if found.users:
        sections.append(("People", lambda: print_users(found.users, "")))
    if found.posts:
        sections.append(("Posts", lambda: print_posts(found.posts, "")))
    if found.tags:
        sections.append(("Tags", lambda: _print_tags(found.tags)))
    if found.messages:
        sections.append(("Messages", lambda: _print_messages(found.messages)))
    if found.files:
        sections.append(("Files", lambda: _print_files(found.files)))
    if not sections:
        output.note(f"nothing matches {line(query)!r}")
        return
    for i, (title, show) in enumerate(sections):
        if i:
            output.stdout.print()
        output.stdout.print(title, style="bold underline")
        show()


def _print_tags(tags: list[wire.Tag]) -> None:
    for t in tags:
        people = "person" if t.authors == 1 else "people"
        posts = "post" if t.posts == 1 else "posts"
        output.stdout.print(f"#{line(t.tag)}  {t.authors} {people}, {t.posts} {posts}")


def _print_messages(messages: list[wire.MessageHit]) -> None:
    from rich.text import Text  # rich loads only when something is drawn (not for --json)

    for m in messages:
        direct = m.conversation_kind == "direct"
        text = Text(f"@{line(m.conversation_name)}" if direct else line(m.conversation_name))
        text.stylize("bold")
        if not direct or m.sender != m.conversation_name:  # who wrote it, unless it is plain
            text.append(f" › @{line(m.sender)}")
        text.append(f"  {output.when(m.sent_at)}  #{m.seq}", style="dim")
        text.append(f"  {line(m.text)}")
        output.stdout.print(text)


def _print_files(files: list[wire.FileHit]) -> None:
    from rich.text import Text  # rich loads only when something is drawn (not for --json)

    for f in files:
        path = f"{f.namespace}/{f.path}" if f.namespace else f.path
        text = Text(line(path) + ("/" if f.kind == "dir" else ""))
        if f.kind != "dir":
            text.append(f"  {output.size(f.size)}", style="dim")
        output.stdout.print(text)


LOCK = "🔒"


def print_profile(p: wire.UserProfile) -> None:
    name = line(p.display_name or p.username)
    lock = f" {LOCK} locked: approves follow requests" if p.locked else ""
    output.stdout.print(f"{name} (@{line(p.username)}){lock}", style="bold", markup=False)
    if p.bio:
        output.stdout.print(p.bio, markup=False)
    relation = [
        w
        for w, on in (
            ("you follow them", p.you_follow),
            ("follows you", p.follows_you),
            ("blocked by you", p.blocked),
            ("muted by you", p.muted),
            ("you asked to follow them", p.requested),
        )
        if on
    ]
    output.stdout.print(
        f"{output.count(p.posts, 'post')} · {output.count(p.followers, 'follower')}"
        f" · {p.following} following" + (f" · {', '.join(relation)}" if relation else ""),
        markup=False,
    )
    output.stdout.print(f"joined {output.when(p.created_at)}", style="dim", markup=False)


_VERB = {
    "mention": "mentioned you",
    "reply": "replied to you",
    "like": "liked your post",
    "repost": "reposted your post",
    "follow": "followed you",
    "follow_request": "asks to follow you (roost requests approve|decline USER)",
    "follow_accepted": "approved your follow request",
}


def print_requests(requests: list[wire.FollowRequest]) -> None:

    if not requests:
        output.note("no follow requests waiting")
        return
    rows = [[f"@{r.username}", r.display_name, output.when(r.requested_at)] for r in requests]
    output.table(["user", "name", "asked"], rows)
    output.note("answer with: roost requests approve USER | roost requests decline USER")


def print_notifications(notes: wire.Notifications) -> None:
    from rich.text import Text  # rich loads only when something is drawn (not for --json)

    if not notes.notifications:
        output.note("no notifications")
        return
    for n in notes.notifications:
        row = Text("● " if n.unread else "  ", style="bold cyan")
        row.append(f"@{line(n.actor)}", style="bold")
        row.append(f" {line(_VERB.get(n.kind, n.kind))}")
        row.append(f"  {output.when(n.created_at)}", style="dim")
        if n.post is not None:
            shown = n.post.original or n.post
            row.append(f"\n    {clean(shown.text, multiline=True)}", style="dim")
        output.stdout.print(row)
    output.note(f"{notes.unread} unread")
