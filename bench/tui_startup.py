"""Start-up of the terminal app: process start to the first timeline painted from the cache.

Each run starts a fresh Python process that opens `RoostApp` headless on a client home with a
cached home timeline (its server unreachable, so nothing but the cache can paint it), the way
`roost tui` does (cli/tui.py), and reports two moments:

- first paint: the first frame Textual makes of Home with the cached posts in it (the target);
- settled: once the app's start-up work after that frame is done too (the rest of the cached
  page, the footer's keys, asking the server), measured as a callback the app runs after the
  screen's next refresh, queued when Home mounts.

The baseline, in the same run, is a bare Textual app that paints one line: what any Textual
program costs to start here. Prints medians, the CPU time the child used by then (on a busy
machine the wall time waits for a core; the CPU time does not) and the ratios.

    python bench/tui_startup.py            # 10 runs of each
    python bench/tui_startup.py --runs 20
    python bench/tui_startup.py --root ../other-checkout   # start another checkout's app
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A frame goes to the terminal through App._display (headless, it stops short of writing):
# the first one with the content in it is the first paint.
FIRST_FRAME = r"""
from textual.app import App

def report(moment):
    print(moment, time.time(), time.process_time(), flush=True)

def when_shown(has_content):
    display = App._display
    def _display(self, screen, renderable):
        display(self, screen, renderable)
        if renderable is not None and not getattr(App, "_shown", False) and has_content(screen):
            App._shown = True
            report("painted")
    App._display = _display
"""

ROOST_CHILD = (
    r"""
import sys, time
sys.path.insert(0, {root!r})
try:
    from tui import gc_policy  # `roost tui` holds collection while the app starts
except ImportError:  # a checkout from before it
    pass
else:
    gc_policy.hold()
from pathlib import Path
from client.home import ClientHome
from tui.app import RoostApp
from tui.screens.home import HomeScreen
"""
    + FIRST_FRAME
    + r"""
when_shown(lambda screen: isinstance(screen, HomeScreen) and bool(screen.query("PostItem")))

def settled(app):
    app.call_after_refresh(lambda: (report("settled"), app.exit()))

# Queued when Home mounts with the cached page in its first layout, or when a later
# `_show_page` shows it (older checkouts): whichever comes first.
original_mount = HomeScreen.on_mount
def on_mount(self):
    original_mount(self)
    if self.model.entries:
        settled(self.app)
HomeScreen.on_mount = on_mount
original = HomeScreen._show_page
async def show(self, page, **kw):
    await original(self, page, **kw)
    if page.posts:
        settled(self.app)
HomeScreen._show_page = show
RoostApp(ClientHome(Path({home!r})), connect=False).run(headless=True, size=(120, 40))
"""
)

BARE_CHILD = (
    r"""
import time
from textual.widgets import Static
"""
    + FIRST_FRAME
    + r"""
when_shown(lambda screen: bool(screen.query(Static)))

class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(lambda: (report("settled"), self.exit()))
Bare().run(headless=True, size=(120, 40))
"""
)


def make_home(path: Path) -> None:
    """A logged-in home with a cached first timeline page, built through the client core."""
    sys.path.insert(0, str(ROOT))
    import asyncio
    from datetime import UTC, datetime

    import msgspec

    from client.core import RoostClient
    from client.home import Account, ClientHome
    from protocol.social import Page, Post

    home = ClientHome(path)
    home.save(Account("ws://127.0.0.1:9", "1", "alice", "2", "bench"), "token")
    now = datetime.now(UTC)
    posts = [Post(str(1000 - i), "bob", f"post number {i} #bench", now) for i in range(20)]

    async def fill() -> None:
        async with RoostClient(home) as client:
            page = msgspec.json.encode(Page(posts, None))
            await client.cache.put("timeline.home", "alice:20:", page)

    asyncio.run(fill())


def time_once(code: str) -> dict[str, tuple[float, float]]:
    """Wall seconds from process start to each moment the child reports, and the CPU seconds
    the child had used by then."""
    started = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    moments = {}
    for line in out.stdout.splitlines():
        match line.split():
            case [("painted" | "settled") as moment, at, cpu] if _is_number(at + cpu):
                moments[moment] = (float(at) - started, float(cpu))
    if out.returncode != 0 or set(moments) != {"painted", "settled"}:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return moments


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).replace(".", "", 1).isdigit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout whose app to start (to compare)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        make_home(home)
        roost_code = ROOST_CHILD.format(root=str(args.root.resolve()), home=str(home))
        time_once(roost_code)  # warm the OS file cache for both
        time_once(BARE_CHILD)
        roost_runs, bare_runs = [], []
        for _ in range(args.runs):  # interleaved, so a burst of load hits both alike
            roost_runs.append(time_once(roost_code))
            bare_runs.append(time_once(BARE_CHILD))
    bare = Medians(bare_runs, "painted")
    roost = Medians(roost_runs, "painted")
    settled = Medians(roost_runs, "settled")
    print(f"runs: {args.runs} each, headless 120x40, process start to first paint")
    print(f"bare Textual app   {bare}")
    print(f"roost tui timeline {roost}")
    print(f"  start-up settled {settled}")
    print(f"ratio: roost {roost.wall / bare.wall:.2f}x bare (CPU {roost.cpu / bare.cpu:.2f}x);"
          f" settled {settled.wall / bare.wall:.2f}x (CPU {settled.cpu / bare.cpu:.2f}x);"
          f" target <= 300 ms: {'met' if roost.wall <= 0.3 else 'NOT met'}")  # fmt: skip


class Medians:
    """The median wall and CPU time of one moment over runs."""

    def __init__(self, runs: list[dict[str, tuple[float, float]]], moment: str) -> None:
        self.walls = [run[moment][0] for run in runs]
        self.wall = statistics.median(self.walls)
        self.cpu = statistics.median(run[moment][1] for run in runs)

    def __str__(self) -> str:
        return f"median {ms(self.wall)}  ({spread(self.walls)}); CPU {ms(self.cpu)}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def spread(samples: list[float]) -> str:
    return f"min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f}"


if __name__ == "__main__":
    main()
