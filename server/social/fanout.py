"""The rules of hybrid fan-out, as plain functions: whose posts are written into followers'
timelines at post time, and how read-time sources merge into one newest-first page.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence

DEFAULT_CELEBRITY_THRESHOLD = 10_000
BACKFILL_ON_FOLLOW = 50  # a new follow brings this many of the followee's recent posts


def fans_out(follower_count: int, celebrity_threshold: int) -> bool:
    """Authors with more followers than the threshold are not fanned out: copying one post
    into every follower's timeline would cost more than merging it in when they read."""
    return follower_count <= celebrity_threshold


def merge_newest(sources: Iterable[Sequence[int]], limit: int) -> list[int]:
    """Merge newest-first id lists into one newest-first list without repeats."""
    out: list[int] = []
    last: int | None = None
    for post_id in heapq.merge(*sources, reverse=True):
        if post_id != last:
            out.append(post_id)
            last = post_id
            if len(out) >= limit:
                break
    return out


def next_cursor(
    shown: Sequence[int], limit: int, exhausted: bool, scanned: int | None = None
) -> int | None:
    """The `before` for the next page: the oldest id shown, unless nothing older can exist.
    A page that came up short because what it read was hidden or deleted, with more still
    to read, goes on from `scanned`, the oldest id it read (else those pages would end the
    timeline early)."""
    if exhausted and len(shown) < limit:
        return None
    if len(shown) >= limit:
        return shown[-1]
    return scanned if scanned is not None else (shown[-1] if shown else None)
