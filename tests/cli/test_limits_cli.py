"""roost serve's limit and log flags, roost usage, roost files purge and roost admin gc, as an
operator and a user type them, against a server subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from client.core import RoostClient
from client.files import RemoteFiles
from client.home import ClientHome
from tests.helpers import Home, ServerProcess


def _age_unreferenced_blocks(data: Path, hours: int) -> None:
    db = sqlite3.connect(data / "roost.db", timeout=10)
    with db:
        rows = db.execute("SELECT hash FROM blocks WHERE refcount = 0").fetchall()
        db.execute(
            "UPDATE blocks SET created_at = created_at - ? WHERE refcount = 0", (hours * 3_600_000,)
        )
    db.close()
    past = time.time() - hours * 3600
    for (h,) in rows:
        os.utime(data / "blocks" / h[:2] / h[2:], (past, past))


def _block_files(data: Path) -> set[str]:
    return {p.name for p in (data / "blocks").rglob("*") if p.is_file()}


async def test_rate_and_quota_flags_reach_the_user(
    make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    server = await ServerProcess(
        tmp_path / "data",
        extra_args=("--rate", "0.1", "--burst", "4", "--quota", "1MiB", "--max-text", "100"),
    ).start()
    try:
        alice = make_home("alice", server.url)
        await alice.register("alice")
        usage = json.loads((await alice.ok("usage", "--json")).stdout)
        assert (usage["used_bytes"], usage["quota_bytes"]) == (0, 1 << 20)
        assert (usage["ops_per_second"], usage["ops_burst"]) == (0.1, 4)
        assert (usage["max_post_chars"], usage["max_message_chars"]) == (100, 100)
        for _ in range(4):
            result = await alice.run("usage")
            if result.code:
                break
        assert result.code == 1
        assert "rate limited: retry in" in result.stderr and result.stderr.count("\n") == 1
    finally:
        await server.kill()


async def test_entry_and_upload_limits_reach_the_user(
    make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--max-entries", "1000", "--max-uncommitted", "64MiB")
    ).start()
    try:
        alice = make_home("alice", server.url)
        await alice.register("alice")
        usage = json.loads((await alice.ok("usage", "--json")).stdout)
        assert (usage["entries"], usage["max_entries"]) == (0, 1000)
        assert (usage["uncommitted_bytes"], usage["max_uncommitted_bytes"]) == (0, 64 << 20)
        lines = (await alice.ok("usage")).stdout.splitlines()
        assert "entries: 0 of 1,000 kept (file versions, deletions and attachments)" in lines
        assert "uploads waiting for a commit: 0 B of 64.0 MiB" in lines
    finally:
        await server.kill()
    operator = make_home("operator", "ws://unused")
    result = await operator.run("serve", "--max-entries", "lots", "--port", "0")
    assert result.code == 2 and "'lots': write a whole number, or none" in result.stderr


async def test_gc_forgets_uploads_no_commit_used_past_their_age(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    pending = tmp_path / "pending.bin"
    pending.write_bytes(os.urandom(40_000))
    async with RoostClient(ClientHome(alice.path), open_timeout=2.0) as client:
        await RemoteFiles(client).upload_blocks(pending)  # and never committed
    usage = json.loads((await alice.ok("usage", "--json")).stdout)
    assert usage["uncommitted_bytes"] == 40_000

    operator = Home(tmp_path / "operator", server_process.url)
    young = await operator.ok("admin", "gc", "--data", str(server_process.data_dir))
    assert "forgot" not in young.stderr
    db = sqlite3.connect(server_process.data_dir / "roost.db", timeout=10)
    with db:  # as if uploaded two days ago
        db.execute("UPDATE block_uploads SET created_at = created_at - ?", (48 * 3_600_000,))
    db.close()
    _age_unreferenced_blocks(server_process.data_dir, hours=48)
    old = await operator.ok("admin", "gc", "--data", str(server_process.data_dir))
    assert "forgot 1 upload(s) and 0 staged block(s) never committed" in old.stderr
    assert "freed 1 block(s)" in old.stderr
    assert json.loads((await alice.ok("usage", "--json")).stdout)["uncommitted_bytes"] == 0


async def test_a_bad_size_is_a_usage_error(make_home: Callable[[str, str], Home]) -> None:
    operator = make_home("operator", "ws://unused")
    result = await operator.run("serve", "--quota", "ten gigs", "--port", "0")
    assert result.code == 2 and "'ten gigs' is not a size" in result.stderr


async def test_a_send_queue_budget_below_one_long_event_is_a_usage_error(
    make_home: Callable[[str, str], Home],
) -> None:
    operator = make_home("operator", "ws://unused")
    result = await operator.run("serve", "--send-queue-bytes", "4KiB", "--port", "0")
    assert result.code == 2 and "must be at least 64.0 KiB" in result.stderr
    assert "--send-queue-bytes" in result.stderr


async def test_purge_then_gc_frees_the_blocks_of_old_versions_only(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    data = server_process.data_dir
    doc = tmp_path / "doc.bin"
    doc.write_bytes(os.urandom(50_000))
    await alice.ok("files", "put", str(doc))
    first = _block_files(data)
    doc.write_bytes(os.urandom(60_000))
    await alice.ok("files", "put", str(doc))
    assert len(_block_files(data)) == len(first) + 1
    usage = json.loads((await alice.ok("usage", "--json")).stdout)
    assert usage["used_bytes"] == 110_000 and usage["quota_bytes"] is None

    operator = Home(tmp_path / "operator", server_process.url)
    young = await operator.ok("admin", "gc", "--data", str(data))
    assert "freed 0 block(s)" in young.stderr  # nothing unreferenced yet

    purged = await alice.ok("files", "purge", "doc.bin", "--yes")
    assert "purged 1 old version of" in purged.stderr
    kept = await operator.ok("admin", "gc", "--data", str(data))
    assert "freed 0 block(s)" in kept.stderr  # within the grace period: could be an upload
    _age_unreferenced_blocks(data, hours=2)  # as if the purge had been two hours ago

    # An upload not committed yet must survive a collection run meanwhile.
    client = RoostClient(ClientHome(alice.path), open_timeout=2.0)
    pending = tmp_path / "pending.bin"
    pending.write_bytes(os.urandom(40_000))
    async with client:
        await RemoteFiles(client).upload_blocks(pending)
        freed = await operator.ok("admin", "gc", "--data", str(data))
        assert "freed 1 block(s)" in freed.stderr  # the purged version's, nothing else
        assert _block_files(data).isdisjoint(first)
        await RemoteFiles(client).put(pending)  # its blocks are all still there

    await alice.ok("files", "get", "doc.bin", "-o", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == doc.read_bytes()
    history = json.loads((await alice.ok("files", "history", "doc.bin", "--json")).stdout)
    assert len(history["versions"]) == 1
    assert json.loads((await alice.ok("usage", "--json")).stdout)["used_bytes"] == 100_000


async def test_json_logs_are_one_object_per_line(
    make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--log-format", "json", "--log-level", "debug")
    ).start()
    alice = make_home("alice", server.url)
    await alice.register("alice")
    await alice.run("files", "history", "no-such-file")
    assert await server.terminate() == 0
    records = [json.loads(line) for line in server.log]  # every line is JSON
    assert all({"ts", "level", "event"} <= set(r) for r in records)
    ops = [r for r in records if r["event"] == "op"]
    refused = next(r for r in ops if r["op"] == "files.history")
    assert refused["code"] == "not_found" and refused["user"] == "alice"
    assert refused["level"] == "info" and isinstance(refused["ms"], float) and refused["conn"]
    registered = next(r for r in ops if r["op"] == "auth.register")
    assert registered["code"] == "ok" and registered["level"] == "debug"


async def test_post_cache_flag_bounds_the_posts_held_in_memory(
    make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    operator = make_home("operator", "ws://unused")
    help_text = (await operator.ok("serve", "--help")).stdout
    assert "--post-cache" in help_text and "50000" in help_text
    refused = await operator.run("serve", "--post-cache", "-1", "--port", "0")
    assert refused.code == 2
    [line] = [line for line in refused.stderr.splitlines() if "--post-cache" in line]
    assert "-1 is not in the range x>=0" in line  # the whole reason on that one line

    server = await ServerProcess(tmp_path / "data", extra_args=("--post-cache", "3")).start()
    try:
        alice = make_home("alice", server.url)
        await alice.register("alice")
        for i in range(5):
            await alice.ok("post", f"post {i}")
        assert len(json.loads((await alice.ok("timeline", "--json")).stdout)["posts"]) == 5
        page = await asyncio.to_thread(_metrics, server.url)
        assert "roost_cached_posts 3.0" in page.splitlines()
    finally:
        await server.kill()


def _metrics(url: str) -> str:
    with urllib.request.urlopen(url.replace("ws://", "http://") + "/metrics", timeout=5) as page:
        return str(page.read().decode())


async def test_login_and_registration_limits_reach_the_user(
    make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    """What a person sees at the terminal when their address has used up its tries."""
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--login-failures", "2", "--registrations-per-hour", "1")
    ).start()
    try:
        await make_home("alice", server.url).register("alice")
        refused = await make_home("bob", server.url).run(
            "register", "bob", "--password-stdin", stdin="correct horse battery\n"
        )
        assert refused.code == 1
        assert (
            "too many accounts registered from your address (at most 1 an hour): retry in 60 min"
            in refused.stderr
        )
        assert refused.stderr.count("\n") == 1
        guesser = make_home("guesser", server.url)
        for _ in range(2):
            wrong = await guesser.run("login", "alice", "--password-stdin", stdin="wrong pass\n")
            assert wrong.code == 1 and "wrong username or password" in wrong.stderr
        # The wait after the free failures starts at 1 s and doubles with each failure: on a
        # loaded machine one `roost login` may take longer than the first waits, so keep trying
        # as a guesser would until one lands inside a wait.
        for _ in range(6):
            limited = await guesser.run("login", "alice", "--password-stdin", stdin="wrong pass\n")
            assert limited.code == 1
            if "wrong username or password" not in limited.stderr:
                break
        assert "too many failed logins for alice from your address: retry in" in limited.stderr
        assert limited.stderr.count("\n") == 1
    finally:
        await server.kill()
