"""Reads answered offline from whatever the cache holds, when the exact question was never
asked online: the home timeline with another --limit, one person's posts out of the timelines
and threads cached, and a search over the cached posts' text.

Each answer is marked offline with the time of the newest cached answer it used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from client.core import Read, RoostClient
from protocol import social as wire
from protocol.profiles import Profile, SetProfile

_page = msgspec.json.Decoder(wire.Page)
_thread = msgspec.json.Decoder(wire.Thread)
_search = msgspec.json.Decoder(wire.SearchResult)


async def cached_posts(client: RoostClient, *, home_of: str | None = None) -> Read[list[wire.Post]]:
    """Every post the cache holds, newest first, once each. `home_of`: only the home
    timelines cached for that user (what `roost timeline` showed them)."""
    found: dict[str, wire.Post] = {}
    newest: int | None = None

    def keep(posts: Iterable[wire.Post], updated_at: int) -> None:
        nonlocal newest
        for post in posts:
            found.setdefault(post.id, post)
        newest = max(newest or 0, updated_at)

    for key, cached in await client.cache.all_of("timeline.home"):
        if home_of is None or key.split(":", 1)[0].lower() == home_of.lower():
            keep(_page.decode(cached.value).posts, cached.updated_at)
    if home_of is None:
        for _, cached in await client.cache.all_of("timeline.user"):
            keep(_page.decode(cached.value).posts, cached.updated_at)
        for _, cached in await client.cache.all_of("post.thread"):
            thread = _thread.decode(cached.value)
            keep([*thread.ancestors, thread.post, *thread.replies], cached.updated_at)
        for _, cached in await client.cache.all_of("search.query"):
            keep(_search.decode(cached.value).posts, cached.updated_at)
    posts = sorted(found.values(), key=lambda p: int(p.id), reverse=True)
    return Read(posts, True, newest)


async def home_timeline(client: RoostClient, limit: int) -> Read[wire.Page] | None:
    me = client.home.require_account().username
    return _as_page(await cached_posts(client, home_of=me), limit, lambda p: True)


async def user_timeline(client: RoostClient, username: str, limit: int) -> Read[wire.Page] | None:
    name = username.removeprefix("@").lower()
    return _as_page(await cached_posts(client), limit, lambda p: p.author.lower() == name)


async def search(client: RoostClient, query: str, limit: int) -> Read[wire.SearchResult] | None:
    """Posts whose text holds every word of the query (case and accents as typed aside)."""
    words = query.casefold().split()
    everything = await cached_posts(client)
    if everything.cached_at is None:
        return None
    hits = [
        p for p in everything.result if all(w in (p.original or p).text.casefold() for w in words)
    ][:limit]
    return Read(wire.SearchResult(posts=hits, users=[]), True, everything.cached_at)


async def with_queued_profile(client: RoostClient, profile: Profile) -> tuple[Profile, bool]:
    """Your profile as it will be once the queued profile changes are sent (offline reads
    show your own pending changes), and whether any were."""
    if profile.username.lower() != client.home.require_account().username.lower():
        return profile, False
    changed = False
    for entry in await client.outbox.entries():
        if entry.op != "profile.set" or entry.failed:
            continue
        change = msgspec.json.decode(entry.args, type=SetProfile)
        fields = {
            name: value
            for name in ("display_name", "bio", "locked")
            if (value := getattr(change, name)) is not None
        }
        profile = msgspec.structs.replace(profile, **fields)
        changed = changed or bool(fields)
    return profile, changed


def _as_page(
    posts: Read[list[wire.Post]], limit: int, wanted: Callable[[wire.Post], bool]
) -> Read[wire.Page] | None:
    if posts.cached_at is None:
        return None  # nothing cached at all: the caller says the server is unreachable
    chosen = [p for p in posts.result if wanted(p)][:limit]
    return Read(wire.Page(posts=chosen, next_before=None), True, posts.cached_at)
