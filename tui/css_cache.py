"""Parsed stylesheets kept in the client home, so a start does not parse them again.

Textual parses Roost's stylesheet and each widget's default CSS on every start: ~12 ms of the
~260 to the first frame (bench/tui_startup.py). `CachedStylesheet` keeps what it parsed in one
file in the client home, each entry under a digest of everything its parse depends on: the CSS
text, where it was read from and how (defaults, tie-breaker, scope), the theme's variables,
Textual's CSS code (its files' sizes and times) and the Python version. A changed stylesheet,
theme or Textual has another digest and is parsed afresh, so an entry is only ever used for the
very CSS it was parsed from; a file that cannot be read is ignored and written anew; CSS with
errors is never kept (Textual reports those on each parse).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import textual.css
from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet
from textual.css.types import CSSLocation

CACHE_NAME = "tui-css.cache"


class CachedStylesheet(Stylesheet):
    def __init__(self, path: Path, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._path = path
        self._kept = _load(path)
        self._used: dict[str, list[RuleSet]] = {}
        self._parsed_now = False

    def _parse_rules(
        self,
        css: str,
        read_from: CSSLocation,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> list[RuleSet]:
        key = _digest(css, read_from, is_default_rules, tie_breaker, scope, self._variables)
        rules = self._used.get(key) or self._kept.get(key)
        if rules is None:
            rules = super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
            if any(rule.errors for rule in rules):
                return rules
            self._parsed_now = True
        self._used[key] = rules
        return rules

    def save(self) -> None:
        """Keep what this start used (only if something had to be parsed): written whole to a
        new private file that then replaces the old, so a reader never sees half of one."""
        if not self._parsed_now:
            return
        self._parsed_now = False
        temporary = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError, pickle.PicklingError):
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file:
                pickle.dump(self._used, file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self._path)
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def _load(path: Path) -> dict[str, list[RuleSet]]:
    try:
        with path.open("rb") as file:
            kept = pickle.load(file)
    except Exception:  # missing, unreadable, truncated, or made by another Textual: parse again
        return {}
    return kept if isinstance(kept, dict) else {}


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr((parts, _textual_css_code(), sys.version)).encode()).hexdigest()


_css_code: tuple[tuple[str, int, int], ...] | None = None


def _textual_css_code() -> tuple[tuple[str, int, int], ...]:
    """Textual's CSS parser and style types, as file names, sizes and times: another Textual
    (an upgrade, an edit) parses differently, or pickles differently."""
    global _css_code
    if _css_code is None:
        folder = Path(textual.css.__file__).parent
        code = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                stat = entry.stat()
                code.append((entry.path, stat.st_size, stat.st_mtime_ns))
        _css_code = tuple(code)
    return _css_code
