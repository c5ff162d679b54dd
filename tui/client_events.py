"""The message the app broadcasts to its screens: one typed client event (client/events.py),
as `client.events()` yielded it. Screens match on `message.event`'s type."""

from __future__ import annotations

from textual.message import Message

from client.events import ClientEvent


class ClientEventReceived(Message):
    """An event from the client: a server push it decoded (and kept what it keeps of), a
    queued write acked on replay, a follow changed, the link changed."""

    def __init__(self, event: ClientEvent) -> None:
        super().__init__()
        self.event = event
