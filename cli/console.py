"""The rich Console the CLI prints through (cli.output makes its two on first use)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from client import display


class SafeConsole(Console):
    """A rich Console that cleans every piece of text it draws (rich itself strips only BEL,
    backspace, CR, VT and FF). Strings are cleaned before they are measured, so columns line
    up; whatever else (a Text, a table) is cleaned segment by segment as it is drawn."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, highlight=False, soft_wrap=True, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(display.clean(text, multiline=True), **kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control:  # rich's own cursor moves, never someone's text
                yield segment
            else:
                yield Segment(display.clean(segment.text, multiline=True), segment.style)
