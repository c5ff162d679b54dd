"""A post with the posts it answers and its replies."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from client.display import safe_text
from client.errors import ClientError
from tui.widgets.posts import render_post


class ThreadScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close"), Binding("p", "open_author", "Author")]

    def __init__(self, post_id: str) -> None:
        super().__init__()
        self._post_id = post_id
        self._author: str | None = None

    def compose(self) -> ComposeResult:
        box = VerticalScroll(Static("loading…", id="thread-body"), id="thread-box")
        box.border_subtitle = "Esc close · p author's profile"  # a modal has no footer
        yield box

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        from tui.app import RoostApp

        app = self.app
        assert isinstance(app, RoostApp)
        body = self.query_one("#thread-body", Static)
        try:
            answer = await app.client.social.thread(self._post_id)
        except ClientError as exc:
            body.update(safe_text(f"cannot open this thread: {exc}"))
            return
        thread = answer.result
        self._author = (thread.post.original or thread.post).author
        parts = [render_post(p) for p in thread.ancestors]
        focus = render_post(thread.post)
        focus.stylize("bold")
        parts.append(focus)
        parts.extend(render_post(p) for p in thread.replies)
        text = parts[0]
        for part in parts[1:]:
            text.append("\n\n")
            text.append_text(part)
        if answer.offline:
            text.append("\n\n(offline copy)", style="dim")
        body.update(text)

    def action_open_author(self) -> None:
        from tui.app import RoostApp
        from tui.screens.profile import open_profile

        if self._author is not None and isinstance(self.app, RoostApp):
            open_profile(self.app, self._author)
