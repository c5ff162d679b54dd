"""roost tui: the full-screen terminal app."""

from __future__ import annotations


def tui() -> None:
    """Open the Roost terminal app (log in or register there if needed)."""
    from tui import gc_policy

    gc_policy.hold()  # until the first screen is painted (tui/gc_policy.py)
    from client.home import ClientHome
    from tui.app import RoostApp  # imported here: other commands never load Textual

    RoostApp(ClientHome.from_env()).run()
