"""roost sync --dry-run, roost sync status, roost sync install-service, and what a sync says
it moved, as a user types them against a server subprocess."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from client.errors import ClientError
from client.sync.service import quoted, unit_text
from client.sync.status import Totals, blocks, rate, totals_line
from tests.helpers import CliResult, Home, ServerProcess, roost_command


def test_sizes_are_counted_in_blocks_and_human_units() -> None:
    assert blocks(1, 12 << 10) == "1 block, 12.0 KiB"
    assert blocks(0, 0) == "0 blocks"
    said = totals_line(Totals(3, 5 << 20, 0, 0, 2))
    assert said == "sent 3 blocks, 5.0 MiB; fetched 0 blocks; 2 blocks re-used from disk"


def test_a_rate_over_no_time_at_all_is_not_shown() -> None:
    assert rate(4 << 30, 0.001) is None  # found on disk at once: not 4 TiB/s
    assert rate(10 << 20, 2.0) == "5.0 MiB/s"


def test_the_unit_quotes_paths_for_systemd() -> None:
    assert quoted('my "100%" folder') == '"my \\"100%%\\" folder"'
    with pytest.raises(ClientError, match="line break"):
        quoted("two\nlines")
    text = unit_text(["/venv/bin/roost"], Path("/home/me/Ro ost"), Path("/home/me/.roost"))
    assert 'ExecStart="/venv/bin/roost" "sync" "/home/me/Ro ost"' in text
    assert 'Environment="ROOST_HOME=/home/me/.roost"' in text
    assert "SuccessExitStatus=130 143" in text


async def run_with(home: Home, env: dict[str, str], *args: str) -> CliResult:
    proc = await asyncio.create_subprocess_exec(
        *roost_command(), *args, env={**home.env(), **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


@pytest.fixture
async def alice(server_process: ServerProcess, make_home: Callable[[str, str], Home]) -> Home:
    home = make_home("alice", server_process.url)
    await home.register("alice")
    return home


async def test_dry_run_says_what_a_pass_would_do_and_changes_nothing(
    alice: Home, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    laptop = tmp_path / "laptop"
    (laptop / "docs").mkdir(parents=True)
    (laptop / "docs" / "kept.txt").write_text("both sides")
    (laptop / "gone.txt").write_text("deleted soon")
    (laptop / "clash.txt").write_text("server side")
    await alice.ok("sync", str(laptop), "--once")
    phone = make_home("phone", alice.server_url)
    await phone.login("alice", device="phone")
    await phone.ok("files", "rm", "gone.txt")
    (laptop / "clash.txt").write_text("mine, edited here")
    (laptop / "new.bin").write_bytes(b"x" * 3000)
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("edited on the phone")
    await phone.ok("files", "put", str(theirs), "clash.txt")
    await phone.ok("files", "put", str(theirs), "docs/fresh.txt")
    before = {p: p.read_bytes() for p in laptop.rglob("*") if p.is_file()}

    dry = await alice.ok("sync", str(laptop), "--dry-run")
    assert "would upload: new.bin (2.9 KiB)" in dry.stdout
    assert "would download: docs/fresh.txt (19 B)" in dry.stdout
    assert "would delete here: gone.txt" in dry.stdout
    assert "would keep a conflicted copy of: clash.txt" in dry.stdout
    assert "kept.txt" not in dry.stdout  # in sync: not listed
    assert dry.stderr.startswith("dry run, nothing changed: 1 to upload (2.9 KiB)")
    as_json = json.loads((await alice.ok("sync", str(laptop), "--dry-run", "--json")).stdout)
    assert {(r["path"], r["action"]) for r in as_json["changes"]} == {
        ("new.bin", "upload"), ("docs/fresh.txt", "download"), ("gone.txt", "delete_local"),
        ("clash.txt", "conflict"),
    }  # fmt: skip
    after = {p: p.read_bytes() for p in laptop.rglob("*") if p.is_file()}
    assert after == before
    on_server = json.loads((await alice.ok("files", "ls", "-r", "--json")).stdout)
    assert "new.bin" not in {r["path"] for r in on_server["entries"]}

    synced = await alice.ok("sync", str(laptop), "--once")
    assert re.search(r"sent \d+ blocks?, [\d.]+ (B|KiB)", synced.stderr), synced.stderr
    assert "bytes)" not in synced.stderr
    assert (laptop / "docs" / "fresh.txt").exists() and not (laptop / "gone.txt").exists()
    again = await alice.ok("sync", str(laptop), "--dry-run")
    assert again.stdout == "" and "already in sync" in again.stderr


async def test_status_shows_the_last_pass_and_what_is_pending(alice: Home, tmp_path: Path) -> None:
    none = await alice.ok("sync", "status")
    assert "running: no" in none.stdout and "none yet" in none.stdout
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("hello")
    (ws / "back\\slash.txt").write_text("a name the server refuses")
    await alice.ok("sync", str(ws), "--once")
    shown = await alice.ok("sync", "status")
    assert f"folder: {ws}" in shown.stdout
    assert ", ok" in shown.stdout and "uploaded 1," in shown.stdout
    assert "sent 1 block, 5 B" in shown.stdout
    assert "pending: back\\slash.txt: backslashes are not allowed" in shown.stdout
    assert "waiting: nothing to sync" in shown.stdout
    (ws / "later.txt").write_text("written while no sync runs")
    waiting = await alice.ok("sync", "status")
    assert f"waiting: 1 to upload (26 B): roost sync {ws} does it" in waiting.stdout
    await alice.ok("sync", str(ws), "--once")  # nothing to do: what the last change did stays
    idle = await alice.ok("sync", "status")
    assert "last change:" in idle.stdout and "uploaded 1," in idle.stdout, idle.stdout
    assert "waiting: nothing to sync" in idle.stdout
    status = json.loads((await alice.ok("sync", "status", "--json")).stdout)
    assert status["running"] is False and status["last_pass"]["uploaded"] == 1
    extra = await alice.run("sync", "status", str(ws))
    assert extra.code == 1 and "takes no second folder" in extra.stderr


async def test_status_records_a_failed_pass(
    server_process: ServerProcess, alice: Home, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    await server_process.kill()
    failed = await alice.run("sync", str(ws), "--once")
    assert failed.code == 1
    shown = await alice.ok("sync", "status")
    assert "failed: cannot reach" in shown.stdout, shown.stdout
    assert "waiting: unknown (cannot reach" in shown.stdout


async def test_install_service_writes_a_user_unit_and_never_over_another(
    alice: Home, tmp_path: Path
) -> None:
    ws = tmp_path / "Roost"
    ws.mkdir()
    config = tmp_path / "config"
    env = {"XDG_CONFIG_HOME": str(config)}
    done = await run_with(alice, env, "sync", "install-service", str(ws))
    assert done.code == 0, done.stderr
    unit = config / "systemd" / "user" / "roost-sync.service"
    text = unit.read_text()
    assert f'"sync" "{ws}"' in text and f"ROOST_HOME={alice.path.resolve()}" in text
    assert "systemctl --user enable --now roost-sync.service" in done.stderr
    other = tmp_path / "Other"
    other.mkdir()
    refused = await run_with(alice, env, "sync", "install-service", str(other))
    assert refused.code == 1 and "add --force" in refused.stderr
    assert unit.read_text() == text
    forced = await run_with(alice, env, "sync", "install-service", str(other), "--force")
    assert forced.code == 0 and f'"sync" "{other}"' in unit.read_text()
    missing = await run_with(alice, env, "sync", "install-service")
    assert missing.code == 1 and "name the folder" in missing.stderr


def test_the_bar_rate_is_the_average_since_it_started() -> None:
    from types import SimpleNamespace

    from cli.progress_rate import AverageRate

    column = AverageRate()
    burst = SimpleNamespace(completed=4 << 30, elapsed=0.01)  # found on disk at once
    assert column.render(burst).plain == ""
    steady = SimpleNamespace(completed=30 << 20, elapsed=3.0)
    assert column.render(steady).plain == "10.0 MiB/s"


async def test_dry_run_renames_no_name_to_nfc(alice: Home, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    nfd = unicodedata.normalize("NFD", "café.txt")
    (ws / nfd).write_text("from a macOS disk")
    dry = await alice.ok("sync", str(ws), "--dry-run")
    assert "would upload: café.txt" in unicodedata.normalize("NFC", dry.stdout)
    assert [p.name for p in ws.iterdir()] == [nfd]  # the sync renames it; a dry run does not
    await alice.ok("sync", str(ws), "--once")
    assert sorted(p.name for p in ws.iterdir()) == [".roost-workspace", "café.txt"]


async def test_sync_refuses_what_does_not_go_together_in_one_line(
    alice: Home, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    for args, said in [
        (("--dry-run", "--once"), "--dry-run changes nothing; it goes without --once"),
        (("--json",), "--json goes with --dry-run or status"),
        ((str(tmp_path / "other"),), "takes no second folder"),
    ]:
        result = await alice.run("sync", str(ws), *args)
        assert result.code == 1 and said in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1
    missing = await alice.run("sync", str(tmp_path / "nowhere"), "--dry-run")
    assert missing.code == 1 and "does not exist" in missing.stderr
    stranger = make_home("nobody", alice.server_url)
    refused = await stranger.run("sync", "install-service", str(ws))
    assert refused.code == 1 and "log in first" in refused.stderr
