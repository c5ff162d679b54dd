"""cli/ and tui/ import nothing from `server` or `storage` but the one server entry point
(server.entry: `roost serve` and `roost admin`); the client core is their way to everything
else. An AST walk, so an import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = "server.entry"


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module in ("server", "storage"):  # from server import x: x is a module
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"
            else:
                yield node.lineno, node.module


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def _sources() -> Iterator[Path]:
    for package in ("cli", "tui"):
        yield from sorted((ROOT / package).rglob("*.py"))


def test_cli_and_tui_reach_the_server_only_through_its_entry_point() -> None:
    found = []
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        for line, module in _imports(path):
            if _in(module, ENTRY_POINT):
                assert name.startswith("cli/"), f"{name}:{line}: the TUI runs no server"
                continue
            if _in(module, "server"):
                found.append(f"{name}:{line} imports {module}")
            elif _in(module, "storage"):
                found.append(f"{name}:{line} imports {module}")
    assert found == [], "\n".join(found)


def test_serve_and_admin_use_the_entry_point() -> None:
    """The walk above really sees them: each imports server.entry."""
    for name in ("cli/serve.py", "cli/admin.py", "cli/admin_copy.py"):
        modules = {m for _, m in _imports(ROOT / name)}
        assert any(_in(m, ENTRY_POINT) for m in modules), name
