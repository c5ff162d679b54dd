"""/metrics on the server's own port: Prometheus text that moves with what the server does."""

from __future__ import annotations

import asyncio
import threading
import tracemalloc
import urllib.request
from pathlib import Path

from client.errors import ServerError
from protocol import social
from protocol.profiles import SetProfile
from server import metrics
from tests.conftest import LiveServer
from tests.conftest import sample_value as value


def scrape(live: LiveServer) -> str:
    url = live.url.replace("ws://", "http://") + "/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


async def test_metrics_count_connections_ops_and_errors(live: LiveServer, engine: str) -> None:
    session = await live.register("alice")
    conn = await live.connect(session.token)
    await conn.call("profile.set", SetProfile(bio="one"))
    await conn.call("profile.set", SetProfile(bio="two"))
    await conn.call("post.create", social.CreatePost(text="hello", client_id="metrics-post-1"))
    await conn.call("timeline.home", social.HomeTimeline())
    try:
        await conn.call("devices.revoke", {"device_id": "1"})
    except ServerError:
        pass

    page = await asyncio.to_thread(scrape, live)
    assert value(page, "roost_connections") == 1
    assert value(page, 'roost_ops_total{op="profile.set",outcome="ok"}') == 2
    assert value(page, 'roost_ops_total{op="auth.register",outcome="ok"}') == 1
    assert value(page, 'roost_ops_total{op="devices.revoke",outcome="not_found"}') == 1
    assert value(page, 'roost_op_seconds_count{op="profile.set"}') == 2
    # the data folder's bytes: the SQLite database there, or (PostgreSQL's being elsewhere)
    # only blocks, of which there are none yet
    assert (value(page, "roost_stored_bytes") > 0) == (engine == "sqlite")
    assert value(page, "roost_slow_consumers_dropped_total") == 0
    assert value(page, "roost_cached_posts") == 1  # read in the timeline, kept for the next
    assert value(page, "process_resident_memory_bytes") > 10 << 20
    assert value(page, 'python_gc_collections_total{generation="2"}') >= 0
    # where the memory goes: SQLite's caches, the C heap, Python's blocks (roost_block_index_entries
    # is asserted where small files are stored, tests/storage/test_block_collection.py)
    sqlite_bytes = value(page, "roost_sqlite_memory_bytes")  # none held on PostgreSQL
    assert (sqlite_bytes > 0) == (engine == "sqlite")
    assert sqlite_bytes < value(page, "roost_malloc_in_use_bytes")
    assert value(page, "roost_python_allocated_blocks") > 10_000
    await conn.close()


async def test_invented_op_names_do_not_grow_the_label_set(live: LiveServer) -> None:
    conn = await live.connect((await live.register("bob")).token)
    for i in range(5):
        try:
            await conn.call_raw(f"made.up.{i}", b"{}")
        except ServerError as exc:
            assert exc.code == "unknown_op"
    page = await asyncio.to_thread(scrape, live)
    assert value(page, 'roost_ops_total{op="unknown",outcome="unknown_op"}') == 5
    assert "made.up" not in page
    await conn.close()


async def test_stored_bytes_are_counted_off_the_event_loop_at_most_every_ten_seconds(
    tmp_path: Path,
) -> None:
    (tmp_path / "blocks" / "ab").mkdir(parents=True)
    (tmp_path / "blocks" / "ab" / "cdef").write_bytes(b"x" * 1000)
    (tmp_path / "roost.db").write_bytes(b"y" * 24)
    now = [100.0]
    threads: list[int] = []

    def count() -> float:
        threads.append(threading.get_ident())
        return metrics._bytes([tmp_path / name for name in ("roost.db", "roost.db-wal", "blocks")])

    stored = metrics.OffLoop(count, clock=lambda: now[0])
    assert await stored.refresh() == 1024
    assert threads and threads[0] != threading.get_ident()  # a worker thread, not the loop's
    (tmp_path / "blocks" / "ab" / "cdef2").write_bytes(b"z" * 500)
    now[0] += metrics.OFF_LOOP_EVERY - 1
    assert await asyncio.gather(stored.refresh(), stored.refresh()) == [1024, 1024]
    assert len(threads) == 1  # the cached count
    now[0] += 1
    assert await asyncio.gather(stored.refresh(), stored.refresh()) == [1524, 1524]
    assert len(threads) == 2  # two scrapes at once share one count


async def test_a_slow_count_waits_twenty_times_as_long_before_the_next() -> None:
    now = [100.0]
    counts: list[float] = []

    def slow_count() -> float:
        now[0] += 2.0  # a walk of a huge block folder
        counts.append(now[0])
        return 7.0

    stored = metrics.OffLoop(slow_count, clock=lambda: now[0])
    assert await stored.refresh() == 7.0
    now[0] += metrics.OFF_LOOP_EVERY + 1
    await stored.refresh()
    assert len(counts) == 1, "waits 2 s x 20, not 10 s"
    now[0] += 2.0 * metrics.OFF_LOOP_SHARE
    await stored.refresh()
    assert len(counts) == 2


def test_counting_the_bytes_on_disk_holds_no_list_of_the_files(tmp_path: Path) -> None:
    """The block folder holds a file per large block: its count must not hold them all at
    once, or Python's memory grows to fit the largest folder it has counted."""
    for i in range(3000):
        folder = tmp_path / "blocks" / f"{i % 256:02x}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:060x}").write_bytes(b"x" * 10)
    tracemalloc.start()
    try:
        assert metrics._bytes([tmp_path / "blocks", tmp_path / "absent.db"]) == 30_000
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000, f"{peak:,} bytes held at once for 3,000 files"
