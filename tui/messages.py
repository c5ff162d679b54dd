"""Messages the app broadcasts to its screens: server pushes and acked offline writes."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ServerEvent(Message):
    """An event pushed by the server (`name` as in docs/PROTOCOL.md, `data` decoded)."""

    def __init__(self, name: str, data: Any) -> None:
        super().__init__()
        self.name = name
        self.data = data


class WriteAcked(Message):
    """A write that was queued offline has been committed by the server."""

    def __init__(self, client_id: str, op: str, result: Any) -> None:
        super().__init__()
        self.client_id = client_id
        self.op = op
        self.result = result


class FollowChanged(Message):
    """You followed, unfollowed, blocked or muted someone from this app: timelines that depend
    on it reload (`following` is whether you follow them now)."""

    def __init__(self, username: str, following: bool) -> None:
        super().__init__()
        self.username = username
        self.following = following
