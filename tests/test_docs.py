"""docs/PROTOCOL.md must describe every op, event and error code the code defines."""

from __future__ import annotations

from pathlib import Path

from protocol.errors import ErrorCode
from protocol.ops import EVENTS, OPS

PROTOCOL = (Path(__file__).parent.parent / "docs" / "PROTOCOL.md").read_text()


def test_every_op_and_event_has_a_section() -> None:
    missing = [name for name in [*OPS, *EVENTS] if f"\n### {name}\n" not in PROTOCOL]
    assert not missing, f"document these in docs/PROTOCOL.md: {missing}"


def test_every_error_code_is_listed() -> None:
    missing = [code.value for code in ErrorCode if f"| `{code.value}` |" not in PROTOCOL]
    assert not missing, f"list these codes in docs/PROTOCOL.md: {missing}"


def test_write_ops_are_marked() -> None:
    for name, spec in OPS.items():
        section = PROTOCOL.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert ("*write.*" in section) == spec.write, name


def test_readme_commands_are_real_commands() -> None:
    """Every `roost WORD` in README names a command `roost --help` lists (a
    renamed or removed command would leave the first steps wrong)."""
    import re

    from cli.commands import BY_NAME

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    used = set(re.findall(r"(?:^|[\s;&|(`])roost ([a-z][a-z-]*)", readme, re.MULTILINE))
    assert "demo" in used and "serve" in used
    prose = {"process"}  # "another roost process"
    unknown = sorted(used - set(BY_NAME) - prose)
    assert unknown == [], f"README names these as roost commands: {unknown}"
