"""Messages: conversations on the left (unread counts, presence dots), the open one on the
right (live messages, delivered/read marks, typing indicator, compose). Cache first, then
the server; sends made offline queue in the outbox and show as pending until acked.

The list's state (order, unread counts, presence, what is open, queued sends) is the client's
`ConversationList` model, fed by the client's typed events; this screen renders it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, ListView, Static

from client.chat import ChatClient
from client.conversations import Arrival, ConversationList, needs_read
from client.display import clean, safe_text
from client.errors import ClientError, ServerError
from client.events import (
    NewMessage,
    PresenceChanged,
    ReceiptChanged,
    TypingChanged,
    WriteAcked,
)
from protocol import chat as wire
from tui.client_events import ClientEventReceived
from tui.screens.base import RoostScreen
from tui.screens.new_chat import NewChat, NewChatScreen
from tui.widgets.chat import (
    ConversationItem,
    MessageRow,
    TypingThrottle,
    TypingTracker,
    conversation_target,
    message_mark,
    typing_line,
)

HISTORY = 50
EMPTY_LIST = "No conversations yet.\nPress n to start one."
NOTHING_OPEN = "Pick a conversation (Enter), or press n to start a new one."


class MessagesScreen(RoostScreen):
    BINDINGS = [
        Binding("n", "new_chat", "New chat"),
        Binding("escape", "focus_list", "List", show=False),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.model = ConversationList(me="")  # `me` is known once mounted (logged in)
        self._receipts: list[wire.Receipt] = []  # of the open conversation
        self._typing = TypingTracker()
        self._throttle = TypingThrottle()

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(id="messages-body"):
            with Vertical(id="conversations-pane"):
                yield Static("Conversations", classes="section-title")
                yield Static(id="conversations-note")
                yield ListView(id="conversations")
            with Vertical(id="conversation-pane"):
                yield Static("Messages", id="conversation-title", classes="section-title")
                with VerticalScroll(id="chat-log"):
                    yield Static(NOTHING_OPEN, id="chat-hint")
                yield Static(id="typing")
                yield Input(
                    placeholder="Write a message (Enter sends)",
                    id="chat-compose",
                    max_length=wire.MAX_MESSAGE_CHARS,
                    disabled=True,
                )

    # ------------------------------------------------------------------ accessors
    @property
    def chat(self) -> ChatClient:
        return self.roost.client.chat

    # The model's fields under the names this screen has always used.
    @property
    def _conversations(self) -> list[wire.Conversation]:
        return self.model.conversations

    @property
    def _online(self) -> dict[str, bool]:
        return self.model.online

    @property
    def _target(self) -> str | None:
        return self.model.open_target

    @property
    def _open_id(self) -> str | None:
        return self.model.open_id

    @property
    def me(self) -> str:
        return self.roost.client.home.require_account().username

    @property
    def conversation_list(self) -> ListView:
        return self.query_one("#conversations", ListView)

    @property
    def chat_log(self) -> VerticalScroll:
        return self.query_one("#chat-log", VerticalScroll)

    @property
    def compose_input(self) -> Input:
        return self.query_one("#chat-compose", Input)

    def _open_conversation(self) -> wire.Conversation | None:
        return self.model.opened

    def _showing(self, conversation: str) -> bool:
        """Whether the user is looking at this conversation right now."""
        return self.app.screen is self and self._open_id == conversation

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        super().on_mount()
        self.model.me = self.me
        self.conversation_list.focus()
        self.set_interval(1.0, self._show_typing)
        # Catch up whenever the link comes (back) up; the first paint is from the cache.
        self.watch(self.app, "link_state", self._link_changed, init=False)
        self.load()

    def _link_changed(self, state: str) -> None:
        if state == "connected":
            self.catch_up()
        elif self._online:
            self.model.forget_presence()  # unknown until the server answers again
            self.call_later(self._show_list, self._conversations)

    @work(exclusive=True, group="messages-catch-up")
    async def catch_up(self) -> None:
        await self.roost.client.wait_replayed()
        self.load()

    def on_screen_resume(self) -> None:
        if self._open_id is not None:
            self.mark_read()

    def action_reload(self) -> None:
        self.load()
        if self._target is not None:
            self.load_conversation()

    def action_focus_list(self) -> None:
        self.conversation_list.focus()

    # ------------------------------------------------------------------ the list
    @work(exclusive=True, group="messages-load")
    async def load(self) -> None:
        """Paint the cached list at once, then catch up with the server and ask who is on."""
        cached = await self.chat.cached_conversations()
        if cached is not None and not self._conversations:
            await self._show_list(cached)
        try:
            answer = await self.chat.conversations()
        except ClientError:
            self._list_note("offline, nothing cached yet" if cached is None else "offline: cached")
            return
        await self._show_list(answer.result)
        self._list_note("offline: cached" if answer.offline else "")
        opened = self._open_conversation()
        shown = [r.message.seq for r in self.chat_log.query(MessageRow) if not r.pending_client_id]
        if opened is not None and opened.last_seq > max(shown, default=0):
            self.load_conversation()  # it moved on while we were away
        try:
            for p in await self.chat.presence():
                self.model.set_presence(p.user, p.online)
        except ClientError:
            return
        await self._show_list(self._conversations)

    async def _show_list(self, conversations: list[wire.Conversation]) -> None:
        self.model.replace(conversations)
        await self._render_list()

    async def _render_list(self) -> None:
        conversations = self.model.conversations
        view = self.conversation_list
        items = list(view.query(ConversationItem))
        if [i.conversation.id for i in items] == [c.id for c in conversations]:
            for item, c in zip(items, conversations, strict=True):
                item.show(c, self._online.get(c.name))
        else:
            highlighted = view.highlighted_child
            keep = (
                highlighted.conversation.id if isinstance(highlighted, ConversationItem) else None
            )
            await view.clear()
            await view.extend(ConversationItem(c, self._online.get(c.name)) for c in conversations)
            ids = [c.id for c in conversations]
            view.index = ids.index(keep) if keep in ids else (0 if ids else None)
        if not conversations:
            self._list_note(EMPTY_LIST)
        if self._target is not None:
            self._show_title()
        if self._open_id is not None:
            self.refresh_marks()  # members or receipts may have become known

    @work(exclusive=True, group="messages-marks")
    async def refresh_marks(self) -> None:
        if self._open_id is not None:
            self._receipts = await self.chat.receipts(self._open_id)
            self._repaint_marks()

    def _list_note(self, text: str) -> None:
        if not self._conversations and not text:
            text = EMPTY_LIST
        self.query_one("#conversations-note", Static).update(safe_text(text, multiline=True))

    @on(ListView.Selected, "#conversations")
    def _selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ConversationItem):
            self.open(conversation_target(event.item.conversation), event.item.conversation.id)

    # ------------------------------------------------------------------ a conversation
    def open(self, target: str, conversation_id: str | None) -> None:
        self.model.open(target, conversation_id)
        self._receipts = []
        self.compose_input.disabled = False
        self.compose_input.focus()
        self._show_title()
        self._show_typing()
        self.load_conversation()

    def _show_title(self) -> None:
        conversation = self._open_conversation()
        title = self._target or "Messages"
        if conversation is not None and conversation.kind == "direct":
            online = self._online.get(conversation.name)  # unknown while offline
            title = f"@{conversation.name}"
            if online is not None:
                title += "  ● online" if online else "  ○ away"
        elif conversation is not None:
            members = ", ".join(clean(m) for m in conversation.members)
            title = f"# {clean(conversation.name)} — {members}"
        self.query_one("#conversation-title", Static).update(safe_text(title))

    @work(exclusive=True, group="messages-conversation")
    async def load_conversation(self) -> None:
        """The cached messages at once, then the server's page, then mark it read."""
        target = self._target
        if target is None:
            return
        cached = await self.chat.cached_messages(target, limit=HISTORY)
        if self._open_id is not None:
            self._receipts = await self.chat.receipts(self._open_id)
        await self._show_messages(cached)
        try:
            answer = await self.chat.history(target, limit=HISTORY, before=None)
        except ClientError as exc:
            if not cached:
                self._hint(f"{exc}" if isinstance(exc, ServerError) else "offline: nothing cached")
            return
        if target != self._target:
            return
        page = answer.result
        if page.conversation is not None and self._open_id is None:
            self.model.open_id = page.conversation
        if not page.messages:
            self._hint("No messages yet: say hello.")
        await self._show_messages(page.messages)
        if not answer.offline:
            self.mark_read()

    async def _show_messages(self, messages: list[wire.Message]) -> None:
        """Repaint the log: these messages, then this conversation's sends still queued."""
        target = self._target
        queued = await self.chat.queued_sends(target) if target is not None else []
        await self.chat_log.remove_children()
        rows = [MessageRow(m, self.me, self._mark(m)) for m in messages]
        for q in queued:
            self.model.queue(q.client_id, target or "")
            draft = wire.Message(self._open_id or "", 0, self.me, q.text, q.queued_at)
            rows.append(MessageRow(draft, self.me, "", pending_client_id=q.client_id))
        if rows:
            await self.chat_log.mount_all(rows)
            self.chat_log.scroll_end(animate=False)

    def _hint(self, text: str) -> None:
        self.chat_log.query("#chat-hint").remove()
        self.chat_log.mount(Static(safe_text(text, multiline=True), id="chat-hint"))

    def _mark(self, message: wire.Message) -> str:
        conversation = self._open_conversation()
        members = conversation.members if conversation else []
        return message_mark(message, self.me, members, self._receipts)

    def _repaint_marks(self) -> None:
        for row in self.chat_log.query(MessageRow):
            if row.pending_client_id is None:
                row.show(row.message, self._mark(row.message))

    async def _append(self, message: wire.Message) -> None:
        rows = list(self.chat_log.query(MessageRow))
        if any(r.message.seq == message.seq and not r.pending_client_id for r in rows):
            return
        self.chat_log.query("#chat-hint").remove()
        later = [r for r in rows if r.pending_client_id or r.message.seq > message.seq]
        row = MessageRow(message, self.me, self._mark(message))
        await self.chat_log.mount(row, before=later[0] if later else None)
        self.chat_log.scroll_end(animate=False)

    @work(group="messages-read")
    async def mark_read(self) -> None:
        """Opening a conversation reads it: the sender sees the read mark."""
        conversation = self._open_conversation()
        if self._target is None or conversation is None or not needs_read(conversation):
            return
        try:
            await self.chat.read(self._target)
        except ClientError:
            return
        done = self._open_conversation()
        if done is not None:
            self.model.read(done.id)
            await self._render_list()
        self.roost.refresh_unread()

    # ------------------------------------------------------------------ writing
    @on(Input.Changed, "#chat-compose")
    def _composing(self, event: Input.Changed) -> None:
        if event.value and self._open_id is not None and self._throttle.should_send(self._open_id):
            self.say_typing(self._open_id, True)

    @work(group="messages-typing")
    async def say_typing(self, conversation: str, typing: bool) -> None:
        try:
            await self.chat.typing(conversation, typing)
        except ClientError:
            pass  # only a courtesy: never bother the user with it

    @on(Input.Submitted, "#chat-compose")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self._target is None:
            return
        event.input.value = ""
        if self._open_id is not None:
            self._throttle.reset(self._open_id)
            self.say_typing(self._open_id, False)
        self.send(self._target, text)

    @work(group="messages-write")
    async def send(self, target: str, text: str) -> None:
        try:
            written = await self.chat.send(target, text)
        except ClientError as exc:
            self.notify(exc.message if isinstance(exc, ServerError) else str(exc), severity="error")
            if target == self._target and not self.compose_input.value:
                self.compose_input.value = text  # not sent: the words stay, to fix and resend
            return
        if written.queued:
            self.model.queue(written.client_id, target)
            draft = wire.Message(self._open_id or "", 0, self.me, text, datetime.now(UTC))
            self.chat_log.query("#chat-hint").remove()
            await self.chat_log.mount(
                MessageRow(draft, self.me, "", pending_client_id=written.client_id)
            )
            self.chat_log.scroll_end(animate=False)
            await self.roost.refresh_outbox()
        elif written.result is not None:
            await self._sent(written.result, target)

    async def _sent(self, message: wire.Message, target: str) -> None:
        showing = target == self._target
        if self.model.sent(message, target) is Arrival.MOVED:
            await self._render_list()
        else:
            self.load()  # a direct chat that its first message just created
        if showing:
            await self._append(message)
            self.refresh_marks()  # a receipt may have come before the row was there
        self._show_title()

    async def _acked(self, acked: WriteAcked) -> None:
        """A queued send reached the server (the client stored it already): sent in place."""
        if acked.op != "chat.send" or not isinstance(acked.result, wire.Message):
            return
        message = acked.result
        target = self.model.acked(acked.client_id) or message.conversation
        for row in self.chat_log.query(MessageRow):
            if row.pending_client_id == acked.client_id:
                row.show(message, self._mark(message))  # in place: it keeps its position
        await self._sent(message, target)

    # ------------------------------------------------------------------ starting a chat
    def action_new_chat(self) -> None:
        self.app.push_screen(NewChatScreen(self.me), self._new_chat_chosen)

    def _new_chat_chosen(self, choice: NewChat | None) -> None:
        if choice is None:
            return
        if choice.target is not None:
            existing = self.model.find_target(choice.target)
            self.open(choice.target, existing.id if existing else None)
        elif choice.group is not None:
            self.create_group(choice.group, choice.members)

    @work(group="messages-write")
    async def create_group(self, name: str, members: list[str]) -> None:
        try:
            written = await self.chat.create_group(name, members)
        except ClientError as exc:
            self.notify(exc.message if isinstance(exc, ServerError) else str(exc), severity="error")
            return
        if written.result is None:
            self.notify("queued: the group is created when the server is back")
            return
        self.model.added(written.result)
        await self._render_list()
        self.open(written.result.id, written.result.id)

    # ------------------------------------------------------------------ live
    async def on_client_event_received(self, received: ClientEventReceived) -> None:
        match received.event:
            case NewMessage(message=message):
                await self._message_arrived(message)
            case ReceiptChanged():
                self.refresh_marks()  # the client kept the receipt before handing it on
            case TypingChanged(typing=typing):
                self._typing.update(typing)
                self._show_typing()
            case PresenceChanged(presence=presence):
                self.model.set_presence(presence.user, presence.online)
                await self._render_list()
                if self._target is not None:
                    self._show_title()
            case WriteAcked() as acked:
                await self._acked(acked)

    async def _message_arrived(self, message: wire.Message) -> None:
        """A message the client has already stored and acknowledged: show it."""
        self._typing.stop(message.conversation, message.sender)
        self._show_typing()
        conversation = self.model.find(message.conversation)
        mine = message.sender == self.me
        arrival = self.model.arrived(message, showing=self._showing(message.conversation))
        if message.conversation == self._open_id:
            await self._append(message)
        if arrival is Arrival.UNKNOWN:
            self.load()  # a new conversation, or its members changed
        else:
            await self._render_list()
        if mine:
            return
        if self._showing(message.conversation):
            self.mark_read()
        elif conversation is None or conversation.kind == "direct":
            self.roost.alert(f"Roost: @{message.sender}: {message.text[:80]}")

    def _show_typing(self) -> None:
        who = self._typing.who(self._open_id) if self._open_id else []
        self.query_one("#typing", Static).update(Text(typing_line(who)))
