"""Chat widgets (conversation rows, message rows) and the small rules behind them: which mark
one's own message carries, who is typing right now, and how often to say that we are."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from rich.text import Text
from textual.widgets import ListItem, Static

from client.chat import describe
from client.conversations import target_of
from client.display import clean, safe_text
from protocol import chat as wire

Clock = Callable[[], float]


# --------------------------------------------------------------------------- rules
def message_mark(
    message: wire.Message, me: str, members: Iterable[str], receipts: Iterable[wire.Receipt]
) -> str:
    """The state of one's own message: sent, delivered (every other member has it), read (every
    other member read it; in a group, `read by N` while only some have)."""
    if message.sender != me or message.kind != "text":
        return ""
    by_user = {r.user: r for r in receipts}
    others = [m for m in members if m != me]
    if not others:
        return "✓ sent"
    read = sum(1 for m in others if m in by_user and by_user[m].read_seq >= message.seq)
    if read == len(others):
        return "✓✓ read"
    if read and len(others) > 1:
        return f"✓✓ read by {read}"
    if all(m in by_user and by_user[m].delivered_seq >= message.seq for m in others):
        return "✓✓ delivered"
    return "✓ sent"


class TypingTracker:
    """Who is typing in each conversation; an indicator lapses after `expires_in` unless the
    sender repeats it, and a message from them ends it at once."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, dict[str, float]] = {}

    def update(self, event: wire.Typing) -> None:
        users = self._until.setdefault(event.conversation, {})
        if event.typing:
            users[event.user] = self._clock() + event.expires_in
        else:
            users.pop(event.user, None)

    def stop(self, conversation: str, user: str) -> None:
        self._until.get(conversation, {}).pop(user, None)

    def who(self, conversation: str) -> list[str]:
        now = self._clock()
        return sorted(u for u, until in self._until.get(conversation, {}).items() if until > now)


def typing_line(users: list[str]) -> str:
    """Plain words (show them as a Text: names are not markup)."""
    names = [clean(u) for u in users]
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} is typing…"
    if len(names) == 2:
        return f"{names[0]} and {names[1]} are typing…"
    return f"{len(names)} people are typing…"


class TypingThrottle:
    """Say "typing" at most once per `every` seconds per conversation while composing (the
    server's indicator lasts TYPING_SECONDS, so half of that keeps it lit)."""

    def __init__(self, every: float = wire.TYPING_SECONDS / 2, clock: Clock = time.monotonic):
        self._every = every
        self._clock = clock
        self._last: dict[str, float] = {}

    def should_send(self, conversation: str) -> bool:
        now = self._clock()
        last = self._last.get(conversation)
        if last is not None and now - last < self._every:
            return False
        self._last[conversation] = now
        return True

    def reset(self, conversation: str) -> None:
        """After a send or a stop: the next keystroke announces typing again."""
        self._last.pop(conversation, None)


# --------------------------------------------------------------------------- widgets
def conversation_target(conversation: wire.Conversation) -> str:
    return target_of(conversation)


def render_conversation(conversation: wire.Conversation, online: bool | None) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if conversation.kind == "direct":
        text.append("● " if online else "○ ", style="bold green" if online else "dim")
        text.append("@" + clean(conversation.name), style="bold" if conversation.unread else "")
    else:
        text.append("# ", style="dim")
        text.append(clean(conversation.name), style="bold" if conversation.unread else "")
    if not conversation.member:
        text.append(" (left)", style="dim")
    if conversation.unread:
        text.append(f" ({conversation.unread})", style="bold yellow")
    return text


class ConversationItem(ListItem):
    """One conversation in the list, with its presence dot and unread count."""

    def __init__(self, conversation: wire.Conversation, online: bool | None) -> None:
        super().__init__(Static(render_conversation(conversation, online)))
        self.conversation = conversation
        self.online = online

    def show(self, conversation: wire.Conversation, online: bool | None) -> None:
        self.conversation = conversation
        self.online = online
        self.query_one(Static).update(render_conversation(conversation, online))


def render_message(message: wire.Message, me: str, mark: str, *, pending: bool = False) -> Text:
    text = Text()
    text.append(f"{message.sent_at.astimezone():%H:%M} ", style="dim")
    if message.kind != "text":
        text.append(f"@{clean(message.sender)} {clean(describe(message))}", style="dim italic")
        return text
    text.append(clean(message.sender), style="bold cyan" if message.sender == me else "bold")
    text.append(" ")
    text.append(safe_text(message.text, multiline=True))
    if pending:
        text.append("  pending", style="bold yellow")
    elif mark:
        # A no-break space keeps the mark in one piece when the line wraps.
        text.append("  " + mark.replace(" ", "\u00a0"), style="green" if "read" in mark else "dim")
    return text


class MessageRow(Static):
    """One entry of the open conversation; pending (queued offline) until the server acks it."""

    def __init__(
        self, message: wire.Message, me: str, mark: str, *, pending_client_id: str | None = None
    ) -> None:
        super().__init__(render_message(message, me, mark, pending=pending_client_id is not None))
        self.message = message
        self.me = me
        self.mark = mark
        self.pending_client_id = pending_client_id

    def show(self, message: wire.Message, mark: str) -> None:
        """Repaint with the server's copy and its mark (also ends pending)."""
        if message == self.message and mark == self.mark and self.pending_client_id is None:
            return
        self.message = message
        self.mark = mark
        self.pending_client_id = None
        self.update(render_message(message, self.me, mark))
