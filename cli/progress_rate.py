"""A progress bar column for a sane rate: the bytes moved since the bar (re)started over the
time since then, in binary units, nothing until a tenth of a second has passed. Rich's own
rate samples the last moments, so a batch of blocks counted at once (sent ahead during the
scan, found on disk) once showed 487.7 GB/s."""

from __future__ import annotations

from typing import Any

from rich.progress import ProgressColumn
from rich.text import Text

from client.sync.status import rate


def bytes_bar(console: Any) -> Any:
    """The bar that moves bytes (a folder's get or put, a sync pass): what, how far, how much
    in binary units, the average rate; gone once done."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        AverageRate(),
        console=console,
        transient=True,
    )


class AverageRate(ProgressColumn):
    def render(self, task: Any) -> Text:
        shown = rate(int(task.completed), task.elapsed or 0.0)
        return Text(shown or "", style="progress.data.speed")
