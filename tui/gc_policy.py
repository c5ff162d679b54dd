"""When the terminal app's garbage collector runs.

Starting the app (its imports, the stylesheet, the first screen's widgets) makes ~70,000
objects that live as long as the app, and CPython's default thresholds ran ~170 collections
over them before the first frame: ~45 ms of CPU, a tenth of the start (bench/tui_startup.py).
So `roost tui` holds collection while the app starts (`hold`); once the first screen is
painted and the app has settled, `resume` frees start-up's garbage in one collection, freezes
what is left out of later ones (as the server does, server/gc_policy.py) and collects as usual
from then on. A process that did not hold collection (a test running apps) is left alone.
"""

from __future__ import annotations

import gc

SETTLE_SECONDS = 1.0  # after the app mounts: its first screen is painted by then

_held = False


def hold() -> None:
    """No collection until `resume`: call before importing the app."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def resume() -> None:
    """Collect start-up's garbage once, freeze the rest, and collect as usual again."""
    global _held
    if not _held:
        return
    _held = False
    gc.collect()
    gc.freeze()
    gc.enable()
