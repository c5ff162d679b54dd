"""`roost serve` start-up failures are one clear line, and the process exits."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Home, ServerProcess


async def test_port_in_use_is_a_clear_error(server_process: ServerProcess, tmp_path: Path) -> None:
    home = Home(tmp_path / "h", "ws://unused")
    result = await home.run(
        "serve", "--port", str(server_process.port), "--data", str(tmp_path / "other")
    )
    assert result.code == 1
    assert result.stderr.splitlines()[-1].startswith("error: cannot start the server: ")
    assert "address already in use" in result.stderr
