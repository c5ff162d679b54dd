"""`client.files` through a real server: put, list, history and restore from any device."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from client.core import RoostClient
from tests.conftest import LiveServer
from tests.helpers import PASSWORD


async def test_put_list_history_and_restore(
    tmp_path: Path, live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    local = tmp_path / "plan.txt"
    async with client_home("alice") as alice:
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        local.write_text("first")
        first = await alice.files.put(local, "plan.txt")
        local.write_text("second, longer")
        await alice.files.put(local, "plan.txt")
        [row] = await alice.files.ls("")
        assert (row.shown, row.kind) == ("plan.txt", "file")
        versions = await alice.files.history("plan.txt")
        assert sorted(v.size for v in versions) == [5, 14]
        restored = await alice.files.restore("plan.txt", first.version_id)
        out = tmp_path / "out.txt"
        await alice.files.get("plan.txt", out)
        assert out.read_text() == "first"
        assert restored.size == 5
