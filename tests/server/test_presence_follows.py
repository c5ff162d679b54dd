"""Presence is visible to people who follow each other, not to one-way followers."""

from __future__ import annotations

import asyncio

from protocol.social import UserRef
from tests.conftest import LiveServer
from tests.server.chat_fixtures import chat_live, next_event, quiet

__all__ = ["chat_live"]


async def test_mutual_followers_see_presence_one_way_followers_do_not(
    chat_live: LiveServer,
) -> None:
    ann_s, ben_s, cat_s = [await chat_live.register(n) for n in ("ann", "ben", "cat")]
    ann = await chat_live.connect(ann_s.token)
    cat = await chat_live.connect(cat_s.token)
    await ann.call("follow.add", UserRef(username="ben"))
    await cat.call(
        "follow.add", UserRef(username="ben")
    )  # cat follows ben; ben does not follow back

    ben = await chat_live.connect(ben_s.token)
    await ben.call("follow.add", UserRef(username="ann"))  # now ann and ben follow each other
    event = await next_event(ann, "presence.changed")
    assert event.data and b'"ben"' in bytes(event.data)
    assert [p.user for p in (await ann.call("presence.get")).users] == ["ben"]
    assert await quiet(cat, "presence.changed") == []
    assert (await cat.call("presence.get")).users == []
    await asyncio.gather(*(c.close() for c in (ann, ben, cat)))
