"""Start-up of the terminal app: process start to the first timeline painted from the cache.

Each run starts a fresh Python process that opens `RoostApp` headless on a client home with a
cached home timeline (its server unreachable, so nothing but the cache can paint it) and
reports the moment the cached posts are on screen. The baseline, in the same run, is a bare Textual
app that paints one line: what any Textual program costs to start here. Prints medians and
the ratio.

    python bench/tui_startup.py            # 10 runs of each
    python bench/tui_startup.py --runs 20
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

ROOST_CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from client.home import ClientHome
from tui.app import RoostApp
from tui.screens.home import HomeScreen

def painted(app):
    app.call_after_refresh(
        lambda: (print(time.time(), time.process_time(), flush=True), app.exit())
    )

# The cached page is either in Home's first layout (composed with the screen) or shown by a
# later `_show_page`: whichever paints the posts first.
original_mount = HomeScreen.on_mount
def on_mount(self):
    original_mount(self)
    if self.model.entries:
        painted(self.app)
HomeScreen.on_mount = on_mount
original = HomeScreen._show_page
async def show(self, page, **kw):
    await original(self, page, **kw)
    if page.posts:
        painted(self.app)
HomeScreen._show_page = show
RoostApp(ClientHome(Path({home!r})), connect=False).run(headless=True, size=(120, 40))
"""

BARE_CHILD = r"""
import time
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(
            lambda: (print(time.time(), time.process_time(), flush=True), self.exit())
        )
Bare().run(headless=True, size=(120, 40))
"""


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


def time_once(code: str) -> tuple[float, float]:
    """Wall seconds from process start to first paint, and the CPU seconds the child used by
    then (on a busy machine the wall time waits for the CPU; the CPU time does not)."""
    started = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = [line.split() for line in out.stdout.splitlines() if line.strip()]
    numbers = [x for x in lines if len(x) == 2 and all(_is_number(v) for v in x)]
    if out.returncode != 0 or not numbers:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    painted_at, cpu = numbers[-1]
    return float(painted_at) - started, float(cpu)


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).isdigit()


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
    roost, bare = [w for w, _ in roost_runs], [w for w, _ in bare_runs]
    r, b = statistics.median(roost), statistics.median(bare)
    r_cpu = statistics.median(c for _, c in roost_runs)
    b_cpu = statistics.median(c for _, c in bare_runs)
    print(f"runs: {args.runs} each, headless 120x40, process start to first paint")
    print(f"bare Textual app   median {ms(b)}  ({spread(bare)}); CPU {ms(b_cpu)}")
    print(f"roost tui timeline median {ms(r)}  ({spread(roost)}); CPU {ms(r_cpu)}")
    print(f"ratio: roost {r / b:.2f}x bare (CPU {r_cpu / b_cpu:.2f}x);"
          f" target <= 300 ms: {'met' if r <= 0.3 else 'NOT met'}")  # fmt: skip


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def spread(samples: list[float]) -> str:
    return f"min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f}"


if __name__ == "__main__":
    main()
