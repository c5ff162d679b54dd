"""Ops for `roost export`: the caller's own posts and every version of a namespace they belong
to, each paged oldest first. Messages come from `chat.list` / `chat.history` and bytes from
block downloads, which already check who asks.

Neither op takes a username: they answer about the caller alone, so there is nobody else's
data to name.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocol.files import Entry
from protocol.social import Post
from protocol.spec import OpSpec
from protocol.types import Id


class ExportPosts(msgspec.Struct, forbid_unknown_fields=True):
    after: Id | None = None  # only posts with a larger id (newer)
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 200


class ExportVersions(msgspec.Struct, forbid_unknown_fields=True):
    namespace_id: Id
    after: Id | None = None  # only versions with a larger id (newer)
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 500


class PostsPage(msgspec.Struct):
    posts: list[Post]  # oldest first: posts, replies and reposts
    next_after: str | None  # pass as `after` for the next page; None at the end


class VersionsPage(msgspec.Struct):
    versions: list[Entry]  # oldest first, tombstones included
    next_after: str | None


SPECS = [
    OpSpec("export.posts", ExportPosts, PostsPage, summary="the caller's own posts, oldest first"),
    OpSpec(
        "export.versions",
        ExportVersions,
        VersionsPage,
        summary="every version of a namespace the caller belongs to, oldest first",
    ),
]
EVENTS: dict[str, type[msgspec.Struct]] = {}
