"""A timeline as a plain model: the posts shown newest first, one's own posts still queued on
top (pending), the cursor for the next older page, and how each event changes them: a new
post arrives on top, a deleted one goes (with its reposts), a post's new counts replace it
wherever it shows (also inside a repost), a reply shown raises its parent's reply count.
Screens render `entries`; it does no I/O (tests/client/test_timeline.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from protocol.social import Page, Post, Thread


@dataclass(frozen=True)
class Entry:
    post: Post
    pending_client_id: str | None = None  # a post still in the outbox

    @property
    def key(self) -> str:
        """Stable while it shows: the client id while pending, then the post's id."""
        return self.pending_client_id or self.post.id

    @property
    def shown_post(self) -> Post:
        """The post a person acts on: the original of a repost."""
        return self.post.original if self.post.repost_of and self.post.original else self.post


@dataclass
class Timeline:
    entries: list[Entry] = field(default_factory=list)
    next_before: str | None = None  # the cursor of the next older page; None at the end
    _live: set[str] = field(default_factory=set)  # ids arrived live since the last first page

    @property
    def posts(self) -> list[Post]:
        return [e.post for e in self.entries]

    def find(self, post_id: str) -> Entry | None:
        return next((e for e in self.entries if e.post.id == post_id), None)

    # ------------------------------------------------------------------ pages
    def show_page(self, page: Page, *, replace: bool) -> None:
        """The first page (replace: what was shown goes, pending posts stay on top) or the
        next older one (appended, without repeating a post already shown).

        A first page may have been asked for before a post arrived live: a post that arrived
        since the last first page and is newer than all of this one stays on top (without
        this, a slow answer took a live post out from under the person acting on it)."""
        if replace:
            newest = max((p.created_at for p in page.posts), default=None)
            in_page = {p.id for p in page.posts}
            self.entries = [
                e
                for e in self.entries
                if e.pending_client_id
                or (
                    e.post.id in self._live
                    and e.post.id not in in_page
                    and (newest is None or e.post.created_at > newest)
                )
            ]
            self._live = set()
        shown = {e.post.id for e in self.entries if not e.pending_client_id}
        self.entries += [Entry(p) for p in page.posts if p.id not in shown]
        self.next_before = page.next_before

    # ------------------------------------------------------------------ events
    def arrived(self, post: Post) -> bool:
        """A new post: on top (under nothing: pending ones are newer still); a reply raises its
        parent's reply count where the parent shows. False if it was already shown."""
        if self.find(post.id) is not None:
            return False
        self.entries.insert(0, Entry(post))
        self._live.add(post.id)
        if post.reply_to is not None:
            parent = self._post(post.reply_to)
            if parent is not None:
                self.updated(msgspec.structs.replace(parent, reply_count=parent.reply_count + 1))
        return True

    def deleted(self, post_id: str) -> list[str]:
        """A post is gone: it and its reposts leave. Returns the keys that left."""
        gone = [e.key for e in self.entries if post_id in (e.post.id, e.post.repost_of)]
        self.entries = [e for e in self.entries if e.key not in gone]
        return gone

    def updated(self, post: Post) -> list[str]:
        """A post's new state (counts, liked) replaces it wherever it shows: as itself, and as
        the original inside a repost. Returns the keys of the entries that changed."""
        changed = []
        for i, e in enumerate(self.entries):
            if e.pending_client_id:
                continue
            if e.post.id == post.id:
                self.entries[i] = Entry(_keep_original(post, e.post))
            elif e.post.repost_of == post.id:
                self.entries[i] = Entry(msgspec.structs.replace(e.post, original=post))
            else:
                continue
            changed.append(e.key)
        return changed

    def queued(self, draft: Post, client_id: str) -> None:
        """One's own post is in the outbox: on top, pending."""
        self.entries.insert(0, Entry(draft, client_id))

    def acked(self, client_id: str, post: Post) -> bool:
        """A pending post reached the server: it stays where it is, as the real post."""
        for i, e in enumerate(self.entries):
            if e.pending_client_id == client_id:
                self.entries[i] = Entry(post)
                # A live `post.created` for it may have come first: keep one.
                self.entries = [
                    x for j, x in enumerate(self.entries) if j == i or x.post.id != post.id
                ]
                return True
        return False

    def _post(self, post_id: str) -> Post | None:
        for e in self.entries:
            if e.post.id == post_id and not e.pending_client_id:
                return e.post
            if e.post.original is not None and e.post.original.id == post_id:
                return e.post.original
        return None


def _keep_original(new: Post, old: Post) -> Post:
    """A repost's new state may come without the post it reposts: keep the one shown."""
    if new.repost_of and new.original is None and old.original is not None:
        return msgspec.structs.replace(new, original=old.original)
    return new


@dataclass(frozen=True)
class ThreadRow:
    post: Post
    depth: int  # 0 for the post opened and the posts it answers; a reply one deeper than its
    # parent
    focus: bool = False  # the post the thread was opened on


def thread_rows(thread: Thread) -> list[ThreadRow]:
    """A thread as rows to draw: the posts it answers, the post, then each reply right under
    what it answers (oldest first among siblings), indented one level deeper. A reply whose
    parent is not in the thread (deleted, or hidden from the reader) hangs under the post."""
    rows = [ThreadRow(p, 0) for p in thread.ancestors]
    rows.append(ThreadRow(thread.post, 0, focus=True))
    known = {thread.post.id} | {r.id for r in thread.replies}
    children: dict[str, list[Post]] = {}
    for reply in thread.replies:
        parent = reply.reply_to if reply.reply_to in known else thread.post.id
        children.setdefault(parent or thread.post.id, []).append(reply)
    seen: set[str] = set()
    # The replies reached from the post, then any that only reach each other (a cycle cannot
    # come from the server, but every reply shows once and nothing loops on one).
    for start in [thread.post.id, *(r.id for r in thread.replies)]:
        if start == thread.post.id:
            stack = [(p, 1) for p in reversed(children.get(start, []))]
        elif start in seen:
            continue
        else:
            stack = [(next(r for r in thread.replies if r.id == start), 1)]
        while stack:
            post, depth = stack.pop()
            if post.id in seen:
                continue
            seen.add(post.id)
            rows.append(ThreadRow(post, depth))
            stack.extend((p, depth + 1) for p in reversed(children.get(post.id, [])))
    return rows
