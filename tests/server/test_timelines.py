"""Home timelines by hybrid fan-out, through the real server: fan-out on write for most
authors, read-time merge for authors over the celebrity threshold, pagination by id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from client.errors import ServerError
from protocol import social as wire
from server.app import RoostServer
from server.config import ServerConfig
from server.social.services import SocialServices
from server.social.timelines import home_page
from storage.server.timelines import TimelineRepository
from storage.server.users import UserDirectory
from tests.conftest import LiveServer
from tests.helpers import SECOND
from tests.server.social_helpers import close, follow, home, home_texts, post, users


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server whose celebrity threshold is 2 followers."""
    config = ServerConfig(
        registration="open", data_dir=tmp_path / "server", port=0, celebrity_threshold=2
    )
    server = RoostServer(config)
    await server.start()
    try:
        yield LiveServer(server)
    finally:
        await server.stop()


async def test_follow_shows_recent_posts_and_unfollow_removes_them(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    await post(a, "before the follow")
    assert await home_texts(b) == []
    profile: wire.UserProfile = await follow(b, "alice")
    assert (profile.followers, profile.you_follow, profile.follows_you) == (1, True, False)
    await post(a, "after the follow")
    await post(b, "my own")
    assert await home_texts(b) == ["my own", "after the follow", "before the follow"]
    await b.call("follow.remove", wire.UserRef(username="alice"))
    assert await home_texts(b) == ["my own"]
    await close(a, b)


async def test_celebrity_posts_are_merged_at_read_time(small: LiveServer) -> None:
    star, f1, f2, f3, plain = await users(small, "star", "fan1", "fan2", "fan3", "plain")
    for fan in (f1, f2, f3):
        await follow(fan, "star")
    for fan in (f1, f2):
        await follow(fan, "plain")  # 2 followers: at the threshold, still fanned out
    await post(plain, "plain 1")
    starred = await post(star, "from the star")  # 3 followers > threshold 2: not fanned out
    await post(plain, "plain 2")
    for fan in (f1, f2):
        assert await home_texts(fan) == ["plain 2", "from the star", "plain 1"]
    assert await home_texts(f3) == ["from the star"]
    fan1 = await UserDirectory().id_of(small.server.db.reader, "fan1")
    assert fan1 is not None
    fanned = await TimelineRepository().fanned_ids(small.server.db.reader, fan1, None, 100)
    assert int(starred.id) not in fanned  # really not written into the follower's timeline
    assert len(fanned) == 2  # the plain posts were
    # Deleting a celebrity post removes it from every home timeline too.
    await star.call("post.delete", wire.PostRef(post_id=starred.id))
    assert await home_texts(f2) == ["plain 2", "plain 1"]
    await close(star, f1, f2, f3, plain)


async def test_pagination_has_no_gaps_or_repeats_while_posts_arrive(small: LiveServer) -> None:
    star, writer, reader, x, y = await users(small, "star", "writer", "reader", "xx1", "yy1")
    for conn in (reader, x, y):
        await follow(conn, "star")  # star is over the threshold: merged at read time
    await follow(reader, "writer")
    expected: list[str] = []
    for i in range(25):
        author = star if i % 3 == 0 else writer
        expected.append((await post(author, f"post {i}")).id)
    seen: list[str] = []
    before: str | None = None
    extra = 0
    for _ in range(20):
        page = await home(reader, limit=4, before=before)
        seen += [p.id for p in page.posts]
        await post(writer, f"new while paging {extra}")  # newer: must not shift the pages
        await post(star, f"star while paging {extra}")
        extra += 1
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == list(reversed(expected))
    await close(star, writer, reader, x, y)


async def test_deleted_posts_vanish_from_every_timeline(live: LiveServer) -> None:
    a, b, c = await users(live, "alice", "bob", "carol")
    await follow(b, "alice")
    await follow(c, "alice")
    keep = await post(a, "keep")
    gone = await post(a, "gone")
    await c.call("post.repost", wire.PostRef(post_id=gone.id))
    await home_texts(b)  # warm the in-memory caches
    await a.call("post.delete", wire.PostRef(post_id=gone.id))
    assert await home_texts(b) == ["keep"]
    assert await home_texts(c) == ["keep"]
    assert await home_texts(a) == ["keep"]
    page: wire.Page = await b.call("timeline.user", wire.UserTimeline(username="alice"))
    assert [p.id for p in page.posts] == [keep.id]
    await close(a, b, c)


async def test_new_posts_are_pushed_live_to_online_followers(live: LiveServer) -> None:
    a, b, c = await users(live, "alice", "bob", "carol")
    await follow(b, "alice")
    while not b.events.empty():
        b.events.get_nowait()
    p = await post(a, "live!")
    async with asyncio.timeout(5 * SECOND):
        event = await b.events.get()
    assert event.event == "post.created"
    assert msgspec.json.decode(event.data, type=wire.Post).id == p.id
    await c.call("auth.whoami")
    assert c.events.empty()  # not a follower
    await a.call("post.delete", wire.PostRef(post_id=p.id))
    async with asyncio.timeout(5 * SECOND):
        event = await b.events.get()
    assert event.event == "post.deleted"
    await close(a, b, c)


async def test_user_timeline_pages_and_unknown_user(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    ids = [(await post(a, f"n{i}")).id for i in range(5)]
    page: wire.Page = await b.call("timeline.user", wire.UserTimeline(username="alice", limit=3))
    assert [p.id for p in page.posts] == ids[::-1][:3]
    rest: wire.Page = await b.call(
        "timeline.user", wire.UserTimeline(username="alice", limit=3, before=page.next_before)
    )
    assert [p.id for p in rest.posts] == ids[::-1][3:]
    assert rest.next_before is None
    with pytest.raises(ServerError) as err:
        await b.call("timeline.user", wire.UserTimeline(username="nobody"))
    assert err.value.code == "not_found"
    with pytest.raises(ServerError) as err:
        await b.call("timeline.home", wire.HomeTimeline(before="9999999999999999999"))
    assert err.value.code == "invalid_args"
    await close(a, b)


async def test_the_pull_baseline_answers_the_same_pages(small: LiveServer) -> None:
    """bench/timeline.py compares against fan-out on read: it must show the same posts."""
    star, a, b, reader, x = await users(small, "star", "alice", "bob", "reader", "xx1")
    for conn in (reader, a, x):
        await follow(conn, "star")
    await follow(reader, "alice")
    await follow(reader, "bob")
    for i in range(12):
        await post((star, a, b, reader)[i % 4], f"p{i}")
    gone = await post(a, "deleted")
    await a.call("post.delete", wire.PostRef(post_id=gone.id))
    social = SocialServices.open(small.server.db, celebrity_threshold=2)
    me = await UserDirectory().id_of(social.db.reader, "reader")
    assert me is not None
    before = None
    texts: list[str] = []
    for _ in range(3):
        hybrid = await home_page(social, me, before, 5)
        pulled = await home_page(social, me, before, 5, pull=True)
        assert hybrid == pulled
        texts += [p.text for p in hybrid.posts]
        before = int(hybrid.next_before) if hybrid.next_before else None
    assert before is None
    assert texts == [f"p{i}" for i in reversed(range(12))]
    await close(star, a, b, reader, x)
