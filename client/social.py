"""The social capability on the client: posts, follows, blocks and mutes, timelines,
notifications and discovery, each a write (queued while offline) or a read (cached, and served
from the cache offline).

Ids may be `local:N` for a post still in the outbox: a reply to it or a like of it is queued
behind it and sent with the server's id once it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from client.boundary import translate_storage_errors
from client.core import Read, RoostClient, Written
from client.errors import ClientError, Unreachable
from protocol import blocking
from protocol import social as wire
from protocol.post_text import is_blank


def chars_left(text: str) -> int:
    """How many more characters a post may have (below zero: how many too many)."""
    return wire.MAX_POST_CHARS - len(text)


def post_counter(text: str) -> str:
    """The TUI's live counter, by the rule `check_post_text` applies."""
    left = chars_left(text)
    if left < 0:
        return f"{len(text)}/{wire.MAX_POST_CHARS}: {-left} too many"
    return f"{len(text)}/{wire.MAX_POST_CHARS}"


def check_post_text(text: str) -> None:
    if is_blank(text):
        raise ClientError("a post needs some text")
    if chars_left(text) < 0:
        raise ClientError(
            f"a post is at most {wire.MAX_POST_CHARS} characters; this one has {len(text)}"
        )


_page = msgspec.json.Decoder(wire.Page)


def _as_typed(me: str) -> str:
    return me


def _lowered(me: str) -> str:
    return me.lower()


# The timelines one's own post appears on, and how their cache keys name the owner.
OWN_TIMELINES: dict[str, Callable[[str], str]] = {
    "timeline.home": _as_typed,
    "timeline.user": _lowered,
}


@translate_storage_errors
class Social:
    def __init__(self, client: RoostClient) -> None:
        self.client = client

    def _me(self) -> str:
        return self.client.home.require_account().username

    # ------------------------------------------------------------------ writes
    async def post(
        self, text: str, reply_to: str | None = None, attachments: list[str] | None = None
    ) -> Written[wire.Post]:
        check_post_text(text)  # refuse now rather than queue what the server will refuse
        args = wire.CreatePost(text=text, reply_to=reply_to, attachments=attachments or [])
        return await self.client.write("post.create", args)

    async def post_files(
        self, text: str, files: list[Path], reply_to: str | None = None
    ) -> Written[wire.Post]:
        """Upload each file as an attachment, then post with them. Uploads need the server,
        so this is never queued whole: offline it fails before anything is sent or queued.
        (Once the uploads are in, the post itself may still be queued if the link drops.)"""
        check_post_text(text)
        if len(files) > wire.MAX_ATTACHMENTS:
            raise ClientError(f"a post carries at most {wire.MAX_ATTACHMENTS} attachments")
        for path in files:
            if not path.is_file():
                raise ClientError(f"{path} is not a file")
        remote = self.client.files
        try:
            ids = [(await remote.attach(path)).id for path in files]
        except Unreachable as exc:
            raise ClientError("cannot attach while offline; nothing was posted or queued") from exc
        return await self.post(text, reply_to, ids)

    async def repost(self, post_id: str) -> Written[wire.Post]:
        return await self.client.write("post.repost", wire.PostRef(post_id=post_id))

    async def like(self, post_id: str) -> Written[wire.Post]:
        return await self.client.write("post.like", wire.PostRef(post_id=post_id))

    async def unlike(self, post_id: str) -> Written[wire.Post]:
        return await self.client.write("post.unlike", wire.PostRef(post_id=post_id))

    async def toggle_like(self, post: wire.Post) -> Written[wire.Post]:
        """Like it, or take the like back if it is liked (the TUI's one key for both)."""
        return await (self.unlike(post.id) if post.liked else self.like(post.id))

    async def delete(self, post_id: str) -> Written[wire.Deleted]:
        return await self.client.write("post.delete", wire.PostRef(post_id=post_id))

    async def follow(self, username: str) -> Written[wire.UserProfile]:
        return await self.client.write("follow.add", wire.UserRef(username=username))

    async def unfollow(self, username: str) -> Written[wire.UserProfile]:
        return await self.client.write("follow.remove", wire.UserRef(username=username))

    async def block(self, username: str) -> Written[wire.UserProfile]:
        return await self.client.write("block.add", wire.UserRef(username=username))

    async def unblock(self, username: str) -> Written[wire.UserProfile]:
        return await self.client.write("block.remove", wire.UserRef(username=username))

    async def mute(self, username: str) -> Written[wire.UserProfile]:
        return await self.client.write("mute.add", wire.UserRef(username=username))

    async def unmute(self, username: str) -> Written[wire.UserProfile]:
        return await self.client.write("mute.remove", wire.UserRef(username=username))

    async def blocked(self) -> Read[blocking.ListedUsers]:
        """Whom you blocked (private: only you can ask)."""
        return await self.client.read("block.list", blocking.ListHidden(), cache_key="")

    async def muted(self) -> Read[blocking.ListedUsers]:
        """Whom you muted (private: only you can ask)."""
        return await self.client.read("mute.list", blocking.ListHidden(), cache_key="")

    async def approve(self, username: str) -> Written[wire.UserProfile]:
        """Approve a follow request to you (a locked account)."""
        return await self.client.write("follow.approve", wire.UserRef(username=username))

    async def decline(self, username: str) -> Written[wire.UserProfile]:
        return await self.client.write("follow.decline", wire.UserRef(username=username))

    async def mark_read(self, up_to: str | None = None) -> Written[wire.ReadMarker]:
        return await self.client.write(
            "notifications.read", wire.MarkNotificationsRead(up_to=up_to)
        )

    async def kept_post(self, post: wire.Post) -> None:
        """One's own post, acked (sent at once or replayed from the outbox), goes on top of the
        cached first pages of one's home and own timelines, so an offline read shows it."""
        me = self._me()
        for op, owner in OWN_TIMELINES.items():
            for key in await self.client.cache.keys(op):
                who, _, rest = key.partition(":")
                limit, _, before = rest.partition(":")
                if who != owner(me) or before or not limit.isdigit():
                    continue  # someone else's, or an older page
                cached = await self.client.cache.get(op, key)
                if cached is None:
                    continue
                page = _page.decode(cached.value)
                if any(p.id == post.id for p in page.posts):
                    continue
                posts = [post, *page.posts]
                if len(posts) > int(limit):
                    posts = posts[: int(limit)]
                    page = wire.Page(posts, posts[-1].id)
                else:
                    page = wire.Page(posts, page.next_before)
                await self.client.cache.put(op, key, msgspec.json.encode(page))

    async def cached_home(self, limit: int = 20) -> wire.Page | None:
        """The first page of the home timeline as last cached, to paint before the server
        answers (None when nothing is cached)."""
        cached = await self.client.cache.get("timeline.home", f"{self._me()}:{limit}:")
        return _page.decode(cached.value) if cached is not None else None

    # ------------------------------------------------------------------ reads
    async def home(self, limit: int = 20, before: str | None = None) -> Read[wire.Page]:
        return await self.client.read(
            "timeline.home",
            wire.HomeTimeline(limit=limit, before=before),
            cache_key=f"{self._me()}:{limit}:{before or ''}",
        )

    async def user_timeline(
        self, username: str, limit: int = 20, before: str | None = None
    ) -> Read[wire.Page]:
        return await self.client.read(
            "timeline.user",
            wire.UserTimeline(username=username, limit=limit, before=before),
            cache_key=f"{username.lower()}:{limit}:{before or ''}",
        )

    async def thread(self, post_id: str) -> Read[wire.Thread]:
        return await self.client.read(
            "post.thread", wire.GetThread(post_id=post_id), cache_key=post_id
        )

    async def notifications(
        self, limit: int = 30, before: str | None = None
    ) -> Read[wire.Notifications]:
        return await self.client.read(
            "notifications.list",
            wire.ListNotifications(limit=limit, before=before),
            cache_key=f"{limit}:{before or ''}",
        )

    async def profile(self, username: str | None = None) -> Read[wire.UserProfile]:
        return await self.client.read(
            "user.profile",
            wire.GetUser(username=username),
            cache_key=(username or self._me()).lower(),
        )

    async def requests(self) -> Read[wire.FollowRequests]:
        """Follow requests waiting for your answer, oldest first."""
        return await self.client.read(
            "follow.requests", wire.ListFollowRequests(), cache_key=self._me().lower()
        )

    async def followers(self, username: str | None = None) -> Read[wire.UserList]:
        return await self.client.read(
            "follow.followers",
            wire.ListUsers(username=username),
            cache_key=(username or self._me()).lower(),
        )

    async def following(self, username: str | None = None) -> Read[wire.UserList]:
        return await self.client.read(
            "follow.following",
            wire.ListUsers(username=username),
            cache_key=(username or self._me()).lower(),
        )

    async def search(self, query: str, limit: int = 20) -> Read[wire.SearchResult]:
        return await self.client.read(
            "search.query", wire.Search(query=query, limit=limit), cache_key=f"{limit}:{query}"
        )

    async def trending(self, hours: int = 24, limit: int = 10) -> Read[wire.TrendingTags]:
        return await self.client.read(
            "trending.tags", wire.Trending(hours=hours, limit=limit), cache_key=f"{hours}:{limit}"
        )

    async def suggest(self, limit: int = 10) -> Read[wire.Suggestions]:
        return await self.client.read(
            "suggest.follows", wire.Suggest(limit=limit), cache_key=str(limit)
        )
