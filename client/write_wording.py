"""A queued write in people's words: what it will do (`post "on the train"`, `message to @bob:
"hi"`), never the op's wire name. Used by `roost outbox`, the "queued" note and the replay
report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from client.display import clean

TEXT_SHOWN = 60  # characters of a post or message shown in one line

Args = Mapping[str, Any]


def _quoted(text: object) -> str:
    one_line = " ".join(clean(str(text), multiline=True).split())
    if len(one_line) > TEXT_SHOWN:
        one_line = one_line[: TEXT_SHOWN - 1] + "…"
    return f'"{one_line}"'


def _post(a: Args) -> str:
    reply = f" in reply to post {a['reply_to']}" if a.get("reply_to") else ""
    return f"post {_quoted(a.get('text', ''))}{reply}"


def _profile(a: Args) -> str:
    parts = []
    if a.get("display_name") is not None:
        parts.append(f"name {_quoted(a['display_name'])}")
    if a.get("bio") is not None:
        parts.append(f"bio {_quoted(a['bio'])}")
    if a.get("locked") is not None:
        parts.append("lock the account" if a["locked"] else "unlock the account")
    return "profile: " + (", ".join(parts) or "no change")


def _group(a: Args) -> str:
    members = ", ".join(f"@{m}" for m in a.get("members", []))
    return f"start the group {_quoted(a.get('name', ''))} with {members}"


def _user(verb: str) -> Callable[[Args], str]:
    return lambda a: verb.format(user="@" + clean(str(a.get("username", ""))))


_WORDS: dict[str, Callable[[Args], str]] = {
    "post.create": _post,
    "post.repost": lambda a: f"repost post {a.get('post_id')}",
    "post.like": lambda a: f"like post {a.get('post_id')}",
    "post.unlike": lambda a: f"take back the like of post {a.get('post_id')}",
    "post.delete": lambda a: f"delete post {a.get('post_id')}",
    "profile.set": _profile,
    "follow.add": _user("follow {user}"),
    "follow.remove": _user("unfollow {user}"),
    "follow.approve": _user("approve {user}'s follow request"),
    "follow.decline": _user("decline {user}'s follow request"),
    "block.add": _user("block {user}"),
    "block.remove": _user("unblock {user}"),
    "mute.add": _user("mute {user}"),
    "mute.remove": _user("unmute {user}"),
    "notifications.read": lambda a: "mark notifications read",
    "chat.send": lambda a: f"message to {clean(str(a.get('to')))}: {_quoted(a.get('text', ''))}",
    "chat.read": lambda a: f"mark {clean(str(a.get('to')))} read",
    "chat.group.create": _group,
    "chat.group.add": lambda a: f"add @{a.get('username')} to group {a.get('conversation')}",
    "chat.group.remove": lambda a: (
        f"remove @{a.get('username')} from group {a.get('conversation')}"
    ),
    "chat.group.leave": lambda a: f"leave group {a.get('conversation')}",
    "files.share": lambda a: f"share {_quoted(a.get('folder'))} with @{a.get('username')}",
    "files.unshare": lambda a: f"unshare {_quoted(a.get('folder'))} with @{a.get('username')}",
    "files.share.leave": lambda a: f"leave the shared folder {_quoted(a.get('folder'))}",
}


def describe_write(op: str, args: Args) -> str:
    """What this write will do, in one line."""
    words = _WORDS.get(op)
    if words is not None:
        try:
            return words(args)
        except (KeyError, TypeError, AttributeError):  # an entry an older client queued
            pass
    from protocol.ops import OPS

    spec = OPS.get(op)
    return spec.summary if spec is not None and spec.summary else "a change"
