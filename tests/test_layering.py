"""The CLI and the TUI reach storage and the server only through the client core: no module of
cli/ or tui/ imports `storage` or `server` (at the top or inside a function), except the
server-side commands (`roost serve`, `roost admin`), which start or maintain a server."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("storage", "server")


def server_side(path: Path) -> bool:
    """The commands that run the server or act on its data folder."""
    return path.parent.name == "cli" and (path.name == "serve.py" or path.name.startswith("admin"))


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def layer_breaks(source: str) -> list[tuple[int, str]]:
    return [
        (line, module)
        for line, module in imported_modules(ast.parse(source))
        if module.split(".")[0] in FORBIDDEN
    ]


def test_cli_and_tui_import_no_storage_or_server_module() -> None:
    found = []
    for package in ("cli", "tui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if server_side(path):
                continue
            for line, module in layer_breaks(path.read_text()):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not found, "go through client/ instead:\n" + "\n".join(found)


def test_the_walk_sees_every_kind_of_import() -> None:
    source = (
        "import storage.errors\n"
        "from server.app import run\n"
        "def f():\n"
        "    from storage.client import cache\n"
        "from client.core import RoostClient\n"
        "from . import sibling\n"
    )
    assert layer_breaks(source) == [
        (1, "storage.errors"),
        (2, "server.app"),
        (4, "storage.client"),
    ]
