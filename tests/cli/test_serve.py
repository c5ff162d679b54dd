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


async def test_a_second_server_on_a_data_folder_in_use_refuses_before_binding(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    assert server_process.proc is not None
    home = Home(tmp_path / "h", "ws://unused")
    # The same port too: had it bound first, the error would be "address already in use".
    result = await home.run(
        "serve", "--port", str(server_process.port), "--data", str(server_process.data_dir)
    )
    assert result.code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: another roost serve is using {server_process.data_dir}"
        f" (pid {server_process.proc.pid})"
    ]
    # on another port too, and the first server carries on
    result = await home.run("serve", "--port", "0", "--data", str(server_process.data_dir))
    assert result.code == 1 and "another roost serve is using" in result.stderr
    alice = Home(tmp_path / "alice", server_process.url)
    await alice.register("alice")


async def test_the_data_folder_is_free_again_after_kill_9(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    alice = Home(tmp_path / "alice", server_process.url)
    await alice.register("alice")
    await server_process.kill()  # no shutdown code runs; the kernel drops the lock
    await server_process.start()  # same folder, same port
    try:
        result = await alice.ok("whoami", "--json")
        assert '"alice"' in result.stdout
    finally:
        await server_process.terminate()
    # after a clean stop, too
    again = await ServerProcess(server_process.data_dir).start()
    await again.terminate()


async def test_restore_is_refused_while_a_server_uses_the_folder(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    assert server_process.proc is not None
    home = Home(tmp_path / "h", server_process.url)
    await home.register("alice")
    backup = tmp_path / "backup"
    await home.ok("admin", "backup", str(backup), "--data", str(server_process.data_dir))
    result = await home.run(
        "admin", "restore", str(backup), "--data", str(server_process.data_dir), "--force"
    )
    assert result.code == 1
    assert result.stderr.strip() == (
        f"error: another roost serve is using {server_process.data_dir}"
        f" (pid {server_process.proc.pid}): stop it before restoring into it"
    )
    await server_process.terminate()
    await home.ok(
        "admin", "restore", str(backup), "--data", str(server_process.data_dir), "--force"
    )
