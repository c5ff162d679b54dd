"""Ops for the social capability: posts, reposts, likes, follows, timelines, notifications,
search, trending hashtags and who-to-follow.

Post structs are not closed (`forbid_unknown_fields` is only on args), so fields such as
attachments can be added later without breaking older clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from protocol.spec import OpSpec
from protocol.types import (
    NO_CONTROLS,
    NO_CONTROLS_BUT_LINES,
    ClientId,
    Id,
    MultiLine,
    SingleLine,
    Username,
)

MAX_POST_CHARS = 280
MAX_ATTACHMENTS = 4  # per post
PAGE_MAX = 100

PostText = Annotated[
    MultiLine,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_POST_CHARS,
        description=f"1-{MAX_POST_CHARS} characters, {NO_CONTROLS_BUT_LINES}",
    ),
]
PageSize = Annotated[int, msgspec.Meta(ge=1, le=PAGE_MAX)]
Query = Annotated[
    SingleLine,
    msgspec.Meta(min_length=1, max_length=200, description=f"1-200 characters, {NO_CONTROLS}"),
]


# ------------------------------------------------------------------------------ args
class CreatePost(msgspec.Struct, forbid_unknown_fields=True):
    text: PostText
    reply_to: Id | None = None
    attachments: Annotated[list[Id], msgspec.Meta(max_length=MAX_ATTACHMENTS)] = []
    client_id: ClientId | None = None


class PostRef(msgspec.Struct, forbid_unknown_fields=True):
    """Args of an op on one post: repost, like, unlike, delete."""

    post_id: Id
    client_id: ClientId | None = None


class GetThread(msgspec.Struct, forbid_unknown_fields=True):
    post_id: Id


class HomeTimeline(msgspec.Struct, forbid_unknown_fields=True):
    limit: PageSize = 20
    before: Id | None = None  # only posts with a smaller id (older)


class UserTimeline(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    limit: PageSize = 20
    before: Id | None = None


class UserRef(msgspec.Struct, forbid_unknown_fields=True):
    """Args of follow / unfollow."""

    username: Username
    client_id: ClientId | None = None


class ListUsers(msgspec.Struct, forbid_unknown_fields=True):
    username: Username | None = None  # None: the caller
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 200


class GetUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Username | None = None


class ListFollowRequests(msgspec.Struct, forbid_unknown_fields=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 200


class Search(msgspec.Struct, forbid_unknown_fields=True):
    query: Query
    limit: PageSize = 20  # the most hits of each kind


class Trending(msgspec.Struct, forbid_unknown_fields=True):
    hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 30)] = 24
    limit: PageSize = 10


class Suggest(msgspec.Struct, forbid_unknown_fields=True):
    limit: PageSize = 10


class ListNotifications(msgspec.Struct, forbid_unknown_fields=True):
    limit: PageSize = 30
    before: Id | None = None


class MarkNotificationsRead(msgspec.Struct, forbid_unknown_fields=True):
    up_to: Id | None = None  # None: everything so far
    client_id: ClientId | None = None


# ------------------------------------------------------------------------------ results
class PostAttachment(msgspec.Struct):
    """What a post shows of an attachment; `media.get` with the id gives its blocks."""

    id: str
    name: str
    size: int


class Post(msgspec.Struct):
    id: str
    author: str
    text: str
    created_at: datetime
    reply_to: str | None = None
    repost_of: str | None = None
    like_count: int = 0
    repost_count: int = 0
    reply_count: int = 0
    liked: bool = False  # by the caller
    mentions: list[str] = []
    tags: list[str] = []
    attachments: list[PostAttachment] = []
    original: Post | None = None  # a repost carries the post it reposts


class Page(msgspec.Struct):
    posts: list[Post]
    next_before: str | None  # pass as `before` for the next (older) page; None at the end


class Thread(msgspec.Struct):
    post: Post
    ancestors: list[Post]  # the posts it replies to, oldest first
    replies: list[Post]  # its replies and theirs, oldest first


class Deleted(msgspec.Struct):
    post_id: str


class UserCard(msgspec.Struct):
    username: str
    display_name: str
    followers: int
    following: int


class UserProfile(msgspec.Struct):
    username: str
    display_name: str
    bio: str
    created_at: datetime
    followers: int
    following: int
    posts: int
    you_follow: bool
    follows_you: bool
    blocked: bool = False  # the caller blocked them (never whether they blocked the caller)
    muted: bool = False  # the caller muted them
    locked: bool = False  # follows are requests it approves; posts reach followers only
    requested: bool = False  # the caller's follow request is waiting for its approval


class FollowRequest(msgspec.Struct):
    username: str
    display_name: str
    requested_at: datetime


class FollowRequests(msgspec.Struct):
    requests: list[FollowRequest]  # oldest first


class UserList(msgspec.Struct):
    username: str
    users: list[UserCard]


class MessageHit(msgspec.Struct):
    """A chat message of the caller's that search found."""

    conversation: str
    conversation_kind: str  # direct | group
    conversation_name: str  # the group's name; for a direct conversation, the other person
    seq: int
    sender: str
    text: str
    sent_at: datetime


class FileHit(msgspec.Struct):
    """A file or folder of the caller's (their home, or a share they accepted) found by name."""

    namespace_id: str
    namespace_kind: str  # home | shared
    namespace: str  # "" for the home; a share's name as the caller mounts it
    path: str  # inside the namespace
    kind: str  # file | dir
    version: str
    size: int
    mtime_ms: int  # as the device that wrote it said


class SearchResult(msgspec.Struct):
    """What search found, one list per kind, each best first and at most `limit` long. The
    kinds after `users` were added later: an older server's reply leaves them empty."""

    posts: list[Post]
    users: list[UserCard]
    tags: list[Tag] = []
    messages: list[MessageHit] = []
    files: list[FileHit] = []


class Tag(msgspec.Struct):
    tag: str
    authors: int  # distinct authors in the window: the ranking
    posts: int


class TrendingTags(msgspec.Struct):
    hours: int
    tags: list[Tag]


class Suggestion(msgspec.Struct):
    username: str
    display_name: str
    mutuals: int  # people you follow who follow them
    followers: int
    followed_by: list[str]  # a few of those mutuals


class Suggestions(msgspec.Struct):
    users: list[Suggestion]


class Notification(msgspec.Struct):
    id: str
    kind: str  # mention, reply, like, repost, follow, follow_request, follow_accepted
    actor: str
    created_at: datetime
    post: Post | None = None  # None for follows, and once the post is deleted
    unread: bool = True


class Notifications(msgspec.Struct):
    notifications: list[Notification]
    read_up_to: str | None
    unread: int
    next_before: str | None


class ReadMarker(msgspec.Struct):
    read_up_to: str | None
    unread: int


SPECS = [
    OpSpec("post.create", CreatePost, Post, write=True, summary="publish a post or a reply"),
    OpSpec("post.repost", PostRef, Post, write=True, summary="repost a post"),
    OpSpec("post.delete", PostRef, Deleted, write=True, summary="delete one of your posts"),
    OpSpec("post.like", PostRef, Post, write=True, summary="like a post"),
    OpSpec("post.unlike", PostRef, Post, write=True, summary="take back a like"),
    OpSpec("post.thread", GetThread, Thread, summary="a post with its ancestors and replies"),
    OpSpec("timeline.home", HomeTimeline, Page, summary="the caller's home timeline"),
    OpSpec("timeline.user", UserTimeline, Page, summary="one user's posts and reposts"),
    OpSpec(
        "follow.add",
        UserRef,
        UserProfile,
        write=True,
        summary="follow a user (of a locked account: ask to, `requested` in the result)",
    ),
    OpSpec(
        "follow.remove",
        UserRef,
        UserProfile,
        write=True,
        summary="unfollow a user, or take back a follow request still waiting",
    ),
    OpSpec(
        "follow.requests",
        ListFollowRequests,
        FollowRequests,
        summary="follow requests waiting for the caller's answer (a locked account)",
    ),
    OpSpec(
        "follow.approve",
        UserRef,
        UserProfile,
        write=True,
        summary="approve a follow request to the caller; the requester becomes a follower",
    ),
    OpSpec(
        "follow.decline",
        UserRef,
        UserProfile,
        write=True,
        summary="decline a follow request to the caller",
    ),
    OpSpec("follow.followers", ListUsers, UserList, summary="who follows a user"),
    OpSpec("follow.following", ListUsers, UserList, summary="whom a user follows"),
    OpSpec("user.profile", GetUser, UserProfile, summary="a profile with counts"),
    OpSpec(
        "search.query",
        Search,
        SearchResult,
        summary="full-text search of what the caller may see: posts, people, tags, their own"
        " chat messages and the names of their files",
    ),
    OpSpec("trending.tags", Trending, TrendingTags, summary="hashtags used by most authors"),
    OpSpec("suggest.follows", Suggest, Suggestions, summary="friends of friends to follow"),
    OpSpec("notifications.list", ListNotifications, Notifications, summary="newest first"),
    OpSpec(
        "notifications.read",
        MarkNotificationsRead,
        ReadMarker,
        write=True,
        summary="move the read marker",
    ),
]
EVENTS: dict[str, type[msgspec.Struct]] = {
    "post.created": Post,
    "post.deleted": Deleted,
    "notification.new": Notification,
}
