"""The footer: Textual's, recomposed only when what it shows changes."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class RoostFooter(Footer):
    """Textual's footer rebuilds all its keys each time the screen's bindings may have changed
    (a focus moving, a list's cursor): five times in an app's first half second, each time
    mounting and styling every key twice over. This one rebuilds them only when a key, its
    label or whether it is enabled changed."""

    _shows: Any = None  # what the keys now mounted show

    async def recompose(self) -> None:
        shows = self._what_it_shows()
        if shows == self._shows and self.children:
            return
        await super().recompose()
        self._shows = shows

    def _what_it_shows(self) -> Any:
        app = self.app
        keys = tuple(
            (binding, enabled, tooltip, app.get_key_display(binding))
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
        )
        return keys, self.compact, self.show_command_palette, self.combine_groups
