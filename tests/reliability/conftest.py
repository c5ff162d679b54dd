"""The crash loop's cycle count: ROOST_CRASH_CYCLES, else 50 under `-m slow`, else 3 (CI)."""

from __future__ import annotations

import os

import pytest

CYCLE_SECONDS = 30  # a generous ceiling per kill/restart cycle on a loaded 2-core machine


def crash_cycles(config: pytest.Config) -> int:
    if env := os.environ.get("ROOST_CRASH_CYCLES"):
        return int(env)
    return 50 if "slow" in (config.getoption("markexpr") or "") else 3


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # pytest-timeout's per-test limit scales with the cycle count; each cycle also has its own.
    for item in items:
        if item.get_closest_marker("slow") and "reliability" in item.nodeid:
            item.add_marker(pytest.mark.timeout(120 + CYCLE_SECONDS * crash_cycles(config)))


@pytest.fixture
def cycles(request: pytest.FixtureRequest) -> int:
    return crash_cycles(request.config)
