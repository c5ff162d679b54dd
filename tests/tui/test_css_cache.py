"""tui/css_cache.py: parsed stylesheets kept in the client home, used only for the very CSS,
theme and Textual they were parsed with; and the app looks the same with them as without."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet, StylesheetParseError
from textual.css.types import CSSLocation

from tests.conftest import LiveServer
from tests.tui.test_app import FAST, registered_home, until
from tui.app import RoostApp
from tui.css_cache import CACHE_NAME, CachedStylesheet
from tui.screens.home import HomeScreen

CSS = "#a { color: red; } .b { padding: 1 2; background: $primary; }"
WHERE: CSSLocation = ("roost.tcss", "")


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CSS texts Textual itself parsed for a CachedStylesheet (Textual's own re-parse
    after a change of theme makes a plain Stylesheet, and parses for that)."""
    seen: list[str] = []
    parse = Stylesheet._parse_rules

    def counted(self: Stylesheet, css: str, *args: object, **kwargs: object) -> list[RuleSet]:
        if isinstance(self, CachedStylesheet):
            seen.append(css)
        return parse(self, css, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Stylesheet, "_parse_rules", counted)
    return seen


def parsed(path: Path, css: str = CSS, variables: dict[str, str] | None = None) -> list[str]:
    sheet = CachedStylesheet(path, variables=variables or {"primary": "blue"})
    sheet.add_source(css, read_from=WHERE)
    rules = [rule.css for rule in sheet.rules]
    sheet.save()
    return rules


def test_a_stylesheet_parsed_once_is_read_back_the_same(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / CACHE_NAME
    first = parsed(path)
    assert parses == [CSS] and path.stat().st_mode & 0o777 == 0o600
    assert parsed(path) == first
    assert parses == [CSS]  # the second start parsed nothing


def test_changed_css_or_theme_is_parsed_afresh(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / CACHE_NAME
    parsed(path)
    changed = CSS.replace("red", "green")
    assert "#008000" in " ".join(parsed(path, changed))  # green
    themed = parsed(path, variables={"primary": "#ff0000"})
    assert parses == [CSS, changed, CSS]
    assert "#FF0000" in " ".join(themed).upper()


def test_a_damaged_cache_is_ignored_and_written_anew(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / CACHE_NAME
    path.write_bytes(b"\x80\x05not a pickle")
    first = parsed(path)
    assert parsed(path) == first
    assert parses == [CSS]


def test_css_with_errors_is_never_kept(tmp_path: Path, parses: list[str]) -> None:
    path = tmp_path / CACHE_NAME
    for _ in range(2):
        with pytest.raises(StylesheetParseError):
            parsed(path, "#a { colour: red; }")
    assert len(parses) == 2 and not path.exists()


async def screenshot_of_home(app: RoostApp) -> str:
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: isinstance(app.screen, HomeScreen), "home")
        await app.workers.wait_for_complete()
        await pilot.pause()
        return app.export_screenshot()


async def test_the_app_looks_the_same_from_the_kept_stylesheet(
    live: LiveServer, tmp_path: Path, parses: list[str]
) -> None:
    home = await registered_home(tmp_path, live.url, "alice")
    first = await screenshot_of_home(RoostApp(home, backoff=FAST, connect=False))
    assert (home.path / CACHE_NAME).exists()
    roost_css = (Path(__file__).parents[2] / "tui" / "roost.tcss").read_text()
    assert parses.count(roost_css) == 1
    again = await screenshot_of_home(RoostApp(home, backoff=FAST, connect=False))
    assert parses.count(roost_css) == 1  # read back, not parsed
    assert again == first
