"""`client.social` through a real server: writes, reads cached for offline use, and one's own
posts on top of the cached first pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from client.core import RoostClient
from client.errors import ClientError
from tests.conftest import LiveServer
from tests.helpers import PASSWORD


async def test_a_post_sent_at_once_tops_the_cached_first_page(
    live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    async with client_home("alice") as alice:
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        assert await alice.social.cached_home(3) is None
        await alice.social.post("one")
        await alice.social.home(3)
        written = await alice.social.post("two")
        assert written.result is not None
        cached = await alice.social.cached_home(3)
        assert cached is not None
        assert [p.text for p in cached.posts] == ["two", "one"]
        # The server agrees, and its answer replaces the cached page.
        page = (await alice.social.home(3)).result
        assert [p.id for p in page.posts] == [p.id for p in cached.posts]


async def test_a_like_answers_with_the_new_count(
    live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    async with client_home("bob") as bob:
        await bob.register(live.url, "bob", PASSWORD, "phone")
        post = (await bob.social.post("the first honey")).result
        assert post is not None
    async with client_home("alice") as alice:
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        liked = (await alice.social.like(post.id)).result
        assert liked is not None and (liked.like_count, liked.liked) == (1, True)
        unliked = (await alice.social.unlike(post.id)).result
        assert unliked is not None and unliked.like_count == 0


async def test_a_blank_or_long_post_is_refused_before_it_is_sent_or_queued(
    client_home: Callable[[str], RoostClient],
) -> None:
    async with client_home("alice") as alice:
        with pytest.raises(ClientError, match="needs some text"):
            await alice.social.post("   ")
        with pytest.raises(ClientError, match="at most 280"):
            await alice.social.post("x" * 281)
        assert await alice.outbox.count() == 0
