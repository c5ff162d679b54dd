"""What Roost assumes of its dependencies' undocumented parts, checked against the installed
versions: an upgrade that breaks an assumption fails here, naming the dependency, instead of
somewhere deep in a connection's life.

- websockets (server/session.py): a server connection's `transport`, `protocol` (its
  `state`, `data_to_send()`, `send_close()`), `send_in_progress` and `drain()`, used to write
  many events in one socket write and to cut a peer that reads nothing.
- Textual (tui/app.py): `App._driver.write()`, to send the terminal an OSC 9 notification;
  (tui/keys.py) `textual._ansi_sequences.ANSI_SEQUENCES_KEYS`, to read ESC+digit as Alt+digit;
  (tui/screens/base.py, tui/app.py) `App._css_update_count` and `Screen._css_update_count`,
  which `switch_mode` compares, to mark a screen made now as styled by the current stylesheet;
  (tui/css_cache.py) `Stylesheet._parse_rules()` and `Stylesheet._variables`, where parsed
  rules are kept in the client home and read back.

pyproject.toml bounds both below their next major release; raise a bound only after this
passes on the new release.
"""

from __future__ import annotations

import asyncio
import inspect
from importlib import metadata

import pytest
from textual.app import App
from textual.css.stylesheet import Stylesheet
from textual.screen import Screen
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.protocol import OPEN


def broken(dependency: str, what: str) -> str:
    return (
        f"{dependency} {metadata.version(dependency)} no longer has {what}, which Roost uses"
        " (see this module's docstring): keep the version bound in pyproject.toml below this"
        " release, or change the code that uses it"
    )


async def test_websockets_server_connections_have_what_session_writes_through() -> None:
    seen: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        missing = []
        transport = getattr(ws, "transport", None)
        if transport is None or not isinstance(transport.get_write_buffer_size(), int):
            missing.append("ServerConnection.transport.get_write_buffer_size()")
        elif len(transport.get_write_buffer_limits()) != 2:
            missing.append("ServerConnection.transport.get_write_buffer_limits()")
        protocol = getattr(ws, "protocol", None)
        if protocol is None or getattr(protocol, "state", None) is not OPEN:
            missing.append("ServerConnection.protocol.state (OPEN while open)")
        if protocol is None or not isinstance(protocol.data_to_send(), list):
            missing.append("ServerConnection.protocol.data_to_send() -> list")
        if protocol is None or not callable(getattr(protocol, "send_close", None)):
            missing.append("ServerConnection.protocol.send_close()")
        if getattr(ws, "send_in_progress", "missing") is not None:
            missing.append("ServerConnection.send_in_progress (None while no send runs)")
        if not inspect.iscoroutinefunction(getattr(ws, "drain", None)):
            missing.append("ServerConnection.drain() (a coroutine)")
        seen.set_result(missing)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}"):
            missing = await asyncio.wait_for(seen, 10)
    assert not missing, broken("websockets", ", ".join(missing))


async def test_textual_apps_have_a_driver_that_writes_to_the_terminal() -> None:
    app: App[None] = App()
    assert hasattr(app, "_driver"), broken("textual", "App._driver")
    async with app.run_test():
        driver = app._driver
        assert driver is not None and callable(getattr(driver, "write", None)), broken(
            "textual", "App._driver.write()"
        )


def test_textual_reads_escape_pairs_from_a_table_roost_extends() -> None:
    """tui/keys.py adds ESC+digit to Textual's private table of sequences (Alt+1..8)."""
    try:
        from textual import _ansi_sequences
    except ImportError:
        pytest.fail(broken("textual", "textual._ansi_sequences"))
    table = getattr(_ansi_sequences, "ANSI_SEQUENCES_KEYS", None)
    assert isinstance(table, dict), broken("textual", "_ansi_sequences.ANSI_SEQUENCES_KEYS")
    assert "\x1b2" in table or "\x1b[A" in table, broken("textual", "ANSI_SEQUENCES_KEYS keys")


async def test_textual_screens_count_the_css_updates_they_have_seen() -> None:
    """tui/screens/base.py copies App._css_update_count into a new main screen's
    Screen._css_update_count (switch_mode refreshes all CSS when the two differ);
    tests/tui/test_startup.py checks that a first screen switch then parses nothing again."""
    app: App[None] = App()
    async with app.run_test():
        screen: Screen[None] = Screen()
        counts = (
            getattr(app, "_css_update_count", None),
            getattr(screen, "_css_update_count", None),
        )
        assert all(isinstance(count, int) for count in counts), broken(
            "textual", "App._css_update_count and Screen._css_update_count"
        )


def test_textual_stylesheets_parse_each_source_through_one_method() -> None:
    """tui/css_cache.py overrides Stylesheet._parse_rules (each source's parse, its rules
    returned) and keys what it keeps with Stylesheet._variables (the theme's)."""
    parse = getattr(Stylesheet, "_parse_rules", None)
    names = list(inspect.signature(parse).parameters) if parse is not None else []
    wanted = ["self", "css", "read_from", "is_default_rules", "tie_breaker", "scope"]
    assert names == wanted, broken("textual", "Stylesheet._parse_rules(css, read_from, ...)")
    sheet = Stylesheet(variables={"primary": "blue"})
    assert getattr(sheet, "_variables", None) == {"primary": "blue"}, broken(
        "textual", "Stylesheet._variables"
    )
