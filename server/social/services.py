"""The social capability's long-lived parts: its repositories, the in-memory LRU caches of hot
posts and home timelines, and turning post rows into wire posts.

Caches are filled only by reads that began after the last invalidation (an epoch check), so a
read racing a commit can never put back what that commit changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from protocol import social as wire
from protocol.errors import ErrorCode, RoostError
from server import bus_messages as bus
from server.coherence import Coherence, OneProcess
from server.lru import LRU
from server.social.fanout import DEFAULT_CELEBRITY_THRESHOLD
from storage.database import Database, Handle
from storage.server.notifications import NotificationRepository
from storage.server.social_graph import FollowRepository
from storage.server.social_posts import PostRecord, PostRepository
from storage.server.timelines import TimelineRepository
from storage.server.user_blocks import Hiding, UserBlockRepository
from storage.server.visibility import VisibilityRepository

HOT_POSTS = 50_000  # the default of `roost serve --post-cache`; ~0.8 KiB of memory per post
HOT_TIMELINES = 10_000
HEAD_SIZE = 200  # how many of a home timeline's newest fanned-out ids are kept in memory


@dataclass
class HomeHead:
    """The newest fanned-out ids of one home timeline and its read-time sources."""

    ids: list[int]  # newest first
    complete: bool  # True: these are all the ids the timeline holds
    sources: list[int]  # followees whose posts are merged at read time


@dataclass
class SocialServices:
    db: Database  # reads outside an op's transaction go to its reader
    posts: PostRepository
    follows: FollowRepository
    timelines: TimelineRepository
    notifications: NotificationRepository
    blocks: UserBlockRepository
    visibility: VisibilityRepository  # whose posts a reader may see (locked accounts)
    celebrity_threshold: int = DEFAULT_CELEBRITY_THRESHOLD
    hot_posts: LRU[int, PostRecord] = field(default_factory=lambda: LRU(HOT_POSTS))
    hot_homes: LRU[int, HomeHead] = field(default_factory=lambda: LRU(HOT_TIMELINES))
    # whom each reader blocked or muted, asked on every timeline read
    hot_hiding: LRU[int, Hiding] = field(default_factory=lambda: LRU(HOT_TIMELINES))
    epoch: int = 0  # bumped by every invalidation
    # other server processes' writes reach these caches through it (--bus)
    coherence: Coherence = field(default_factory=OneProcess)
    node: int = 0  # this process's node id, named in what it tells the others

    @classmethod
    def open(
        cls, db: Database, celebrity_threshold: int, hot_posts: int = HOT_POSTS
    ) -> SocialServices:
        return cls(
            db,
            PostRepository(),
            FollowRepository(),
            TimelineRepository(),
            NotificationRepository(),
            UserBlockRepository(),
            VisibilityRepository(),
            celebrity_threshold,
            LRU(hot_posts),
        )

    # ------------------------------------------------------------------ invalidation
    # Each drops from this process's memory and tells the other processes (server/coherence.py)
    def forget_posts(self, post_ids: list[int]) -> None:
        self.drop(bus.Forget(self.node, posts=post_ids))

    def forget_homes(self, user_ids: list[int]) -> None:
        self.drop(bus.Forget(self.node, homes=user_ids))

    def forget_all_homes(self) -> None:
        self.drop(bus.Forget(self.node, all_homes=True))

    def forget_hiding(self, user_ids: list[int]) -> None:
        self.drop(bus.Forget(self.node, hiding=user_ids))

    def drop(self, forget: bus.Forget, *, tell: bool = True) -> None:
        """Drop what `forget` names from memory; with `tell`, have the others drop it too."""
        self.epoch += 1
        if forget.everything:
            self.hot_posts.clear()
            self.hot_hiding.clear()
        for post_id in forget.posts:
            self.hot_posts.discard(post_id)
        if forget.all_homes or forget.everything:
            self.hot_homes.clear()
        for user_id in forget.homes:
            self.hot_homes.discard(user_id)
        for user_id in forget.hiding:
            self.hot_hiding.discard(user_id)
        if tell:
            self.coherence.forgot(forget)

    # ------------------------------------------------------------------ blocks and mutes
    async def hiding(self, user_id: int) -> Hiding:
        """Whom `user_id` blocked or muted (committed lists, from memory when hot)."""
        if not await self.coherence.fresh():
            return await self.blocks.hiding(self.db.reader, user_id)
        hot = self.hot_hiding.get(user_id)
        if hot is not None:
            return hot
        epoch = self.epoch
        found = await self.blocks.hiding(self.db.reader, user_id)
        if epoch == self.epoch:
            self.hot_hiding.put(user_id, found)
        return found

    # ------------------------------------------------------------------ posts
    async def records(self, conn: Handle, ids: list[int]) -> dict[int, PostRecord]:
        """Post rows by id, from memory when hot. Inside a transaction (`conn` is not the
        reader) the database is asked directly, so a handler sees its own uncommitted writes."""
        if conn is not self.db.reader or not await self.coherence.fresh():
            return await self.posts.get_many(conn, ids)
        epoch = self.epoch
        found: dict[int, PostRecord] = {}
        missing: list[int] = []
        for post_id in ids:
            hot = self.hot_posts.get(post_id)
            if hot is None:
                missing.append(post_id)
            else:
                found[post_id] = hot
        if missing:
            loaded = await self.posts.get_many(conn, missing)
            if epoch == self.epoch:
                for post_id, record in loaded.items():
                    self.hot_posts.put(post_id, record)
            found.update(loaded)
        return found

    async def views(
        self,
        conn: Handle,
        viewer_id: int,
        ids: list[int],
        hidden: frozenset[int] = frozenset(),
    ) -> list[wire.Post]:
        """Wire posts for these ids, in order, leaving out deleted posts, reposts of
        deleted posts, and what the viewer may not see: posts (or reposts of posts) by the
        `hidden` authors (blocked or muted), and a locked author's posts, or reposts of them,
        unless the viewer follows that author (`storage/server/visibility.py`).

        Cached records are the same for every reader; this filter runs per call, after the
        cache, so nothing one reader may see reaches another through it."""
        records = await self.records(conn, ids)
        originals = [r.repost_of for r in records.values() if r.repost_of is not None]
        missing = [o for o in originals if o not in records]
        if missing:
            records.update(await self.records(conn, missing))
        locked = await self.visibility.hidden_authors(
            conn, viewer_id, {r.author_id for r in records.values()}
        )
        shown = [
            records[i]
            for i in ids
            if i in records and visible(records[i], records, hidden | locked)
        ]
        liked_ids = [r.repost_of if r.repost_of is not None else r.id for r in shown]
        liked = await self.posts.liked(conn, viewer_id, liked_ids)
        out: list[wire.Post] = []
        for record in shown:
            if record.repost_of is not None:
                original = records[record.repost_of]
                inner = wire_post(original, original.id in liked)
                out.append(wire_post(record, False, inner))
            else:
                out.append(wire_post(record, record.id in liked))
        return out

    async def view(self, conn: Handle, viewer_id: int, post_id: int) -> wire.Post | None:
        found = await self.views(conn, viewer_id, [post_id])
        return found[0] if found else None


def visible(
    record: PostRecord,
    records: dict[int, PostRecord],
    hidden_authors: set[int] | frozenset[int] = frozenset(),
) -> bool:
    """Live, by an author the reader may see, and (for a repost) the same of its original."""
    if record.deleted or record.author_id in hidden_authors:
        return False
    if record.repost_of is None:
        return True
    original = records.get(record.repost_of)
    return (
        original is not None and not original.deleted and original.author_id not in hidden_authors
    )


def wire_post(record: PostRecord, liked: bool, original: wire.Post | None = None) -> wire.Post:
    return wire.Post(
        id=str(record.id),
        author=record.author,
        text=record.text,
        created_at=datetime.fromtimestamp(record.created_at / 1000, UTC),
        reply_to=str(record.reply_to) if record.reply_to is not None else None,
        repost_of=str(record.repost_of) if record.repost_of is not None else None,
        like_count=record.like_count,
        repost_count=record.repost_count,
        reply_count=record.reply_count,
        liked=liked,
        mentions=record.mentions.split() if record.mentions else [],
        tags=record.tags.split() if record.tags else [],
        attachments=[wire.PostAttachment(str(a.id), a.name, a.size) for a in record.attachments],
        original=original,
    )


def when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


MAX_ID = (1 << 63) - 1


def as_id(value: str | None) -> int | None:
    """A wire id as an int; ids past the 64-bit range exist nowhere, so they are refused."""
    if value is None:
        return None
    number = int(value)
    if number > MAX_ID:
        raise RoostError(ErrorCode.INVALID_ARGS, f"id {value} is out of range")
    return number
