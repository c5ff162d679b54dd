"""The cluster chat benchmark's own checks (bench/chat.py --cluster, bench/cluster.py).

Outside tests/ because they need the bench extra (psutil): run them with
`python -m pytest bench/ -p no:cacheprovider` after `pip install -e '.[test,bench]'`.
The last one runs the benchmark itself, tiny, through real `roost serve --bus` processes,
a real PostgreSQL and a real Redis.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import chat  # noqa: E402
import cluster  # noqa: E402

sys.path.remove(str(BENCH))


def server(port: int) -> SimpleNamespace:
    return SimpleNamespace(uri=f"ws://127.0.0.1:{port}")


def step(name: str, rate: float, **figures: float) -> chat.Step:
    fields = dict(
        server=name, offered=rate, sent=10, acked=10, errors=0, achieved=rate, deliveries=90,
        p50_ms=5.0, p99_ms=10.0, ack_p99_ms=8.0, sustained=True, server_cpu=0.1,
        client_cpu=0.1, server_ms_per_1k=100.0, delivered_share=1.0,
    )  # fmt: skip
    fields.update(figures)
    return chat.Step(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ placing clients
def test_spread_clients_put_every_group_on_every_process() -> None:
    clients = [{"token": f"t{i}", "group": f"g{i // 5}"} for i in range(23)]
    spread = chat.placed(clients, [server(1), server(2), server(3)])  # type: ignore[list-item]
    by_group: dict[str, set[str]] = {}
    for c in spread:
        by_group.setdefault(c["group"], set()).add(c["node"])
    assert all(nodes == {"0", "1", "2"} for g, nodes in by_group.items() if g != "g4")
    assert [c["uri"] for c in spread[:4]] == [
        "ws://127.0.0.1:1", "ws://127.0.0.1:2", "ws://127.0.0.1:3", "ws://127.0.0.1:1",
    ]  # fmt: skip
    # each ack counts one delivery per other member of the group: the last group has 3
    assert {c["fanout"] for c in spread[:20]} == {"4"}
    assert {c["fanout"] for c in spread[20:]} == {"2"}


def test_one_process_puts_everyone_on_it() -> None:
    clients = [{"token": "t", "group": "g"} for _ in range(4)]
    one = chat.placed(clients, [server(7)])  # type: ignore[list-item]
    assert {(c["uri"], c["node"]) for c in one} == {("ws://127.0.0.1:7", "0")}


# ------------------------------------------------------------------------------ the summary
def test_summary_pairs_each_spread_step_with_the_one_process_step_beside_it() -> None:
    steps = [
        step(chat.ONE, 50, p99_ms=12.0),
        step(chat.SPREAD, 50, cross_deliveries=40, cross_p50_ms=6.0, cross_p99_ms=18.0),
        step(chat.ONE, 50, p99_ms=10.0),
        step(chat.SPREAD, 50, cross_deliveries=40, cross_p50_ms=5.0, cross_p99_ms=15.0),
        step(chat.ONE, 2000),
        step(chat.SPREAD, 2000, cross_deliveries=0, sustained=False, delivered_share=0.5),
    ]
    summary = chat.cluster_summary(steps, 2)
    rows = summary["latency"]
    assert [r["offered"] for r in rows] == [50, 50, 2000]  # type: ignore[attr-defined]
    assert [r["cross_p99_ms"] for r in rows[:2]] == [18.0, 15.0]  # type: ignore[index]
    assert [r["cross_p99_ratio"] for r in rows[:2]] == [1.5, 1.5]  # type: ignore[index]
    assert rows[2]["cross_delivered"] is False  # type: ignore[index]
    assert summary["target_met"] is True
    assert summary["one_max_sustained"] == 2000
    assert summary["spread_max_sustained"] == 50  # lost deliveries are not sustained
    spread_first = [steps[1], steps[0], steps[3], steps[2]]
    assert chat.cluster_summary(spread_first, 2)["latency"] == rows[:2]  # type: ignore[index]


def test_target_is_missed_by_one_slow_row_and_unmeasured_without_50_msg_s() -> None:
    slow = [
        step(chat.ONE, 50),
        step(chat.SPREAD, 50, cross_deliveries=40, cross_p99_ms=25.0),
        step(chat.ONE, 50),
        step(chat.SPREAD, 50, cross_deliveries=40, cross_p99_ms=15.0),
    ]
    assert chat.cluster_summary(slow, 2)["target_met"] is False
    none_crossed = [step(chat.ONE, 50), step(chat.SPREAD, 50, cross_p99_ms=math.nan)]
    assert chat.cluster_summary(none_crossed, 2)["target_met"] is False
    elsewhere = [step(chat.ONE, 100), step(chat.SPREAD, 100, cross_deliveries=5)]
    assert chat.cluster_summary(elsewhere, 2)["target_met"] is None


# ------------------------------------------------------------------------------ options
def options(**given_: object) -> SimpleNamespace:
    base: dict[str, object] = dict(
        rates="50,1000", n=20, group=10, duration=5.0, workers=4, warmup=5.0, servers=None,
        engines="sqlite", cluster=0,
    )  # fmt: skip
    base.update(given_)
    return SimpleNamespace(**base)


@pytest.mark.parametrize(
    ("given_", "says"),
    [
        ({"cluster": 1}, "--cluster: 2 or more"),
        ({"cluster": 3, "group": 2}, "--cluster 3 needs --group 3"),
        ({"rates": "50,fast"}, "--rates '50,fast'"),
        ({"rates": "0"}, "above 0"),
        ({"servers": "roost,synapse"}, "--servers: synapse?"),
        ({"engines": "mysql"}, "--engines: mysql?"),
        ({"servers": ""}, "nothing to run"),
        ({"n": 1}, "--n and --group"),
    ],
)
def test_bad_options_get_one_line(given_: dict[str, object], says: str) -> None:
    problem = chat.check_args(options(**given_))
    assert problem is not None and says in problem and "\n" not in problem


def test_cluster_alone_runs_only_the_cluster_unless_servers_are_named() -> None:
    alone = options(cluster=2)
    assert chat.check_args(alone) is None and alone.servers == ""
    both = options(cluster=2, servers="roost")
    assert chat.check_args(both) is None and both.servers == "roost"
    default = options()
    assert chat.check_args(default) is None and default.servers == "roost,bare"


@given(st.text(max_size=30))
def test_any_rates_text_is_taken_or_refused_in_one_line(text: str) -> None:
    problem = chat.check_args(options(rates=text))
    if problem is None:
        assert all(float(r) > 0 for r in text.split(","))
    else:
        assert problem.startswith("--rates") and "\n" not in problem


# ------------------------------------------------------------------------------ measuring
def test_log_problems_counts_each_kind_once(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "roost-1.log").write_text(
        "Roost listening on ws://127.0.0.1:1\n"
        "2026-12-05 02:50:20,128 ERROR roost.server: chat batch of 48 failed\n"
        "Traceback (most recent call last):\n"
        "2026-12-05 02:50:21,001 ERROR roost.server: chat batch of 3 failed\n"
        "2026-12-05 02:50:22,002 INFO roost.server: bus connected again\n"
        "2026-12-05 02:50:23,003 WARNING roost.server: bus unavailable (Too many connections)\n"
    )
    assert cluster.log_problems(tmp_path) == [
        "roost-1.log: 2 x ERROR roost.server: chat batch of N failed",
        "roost-1.log: 1 x WARNING roost.server: bus unavailable (Too many connections)",
    ]


def test_process_cpu_counts_a_busy_child_and_not_an_idle_one() -> None:
    busy = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time\n"
         "child = subprocess.Popen([sys.executable, '-c', 'while True: pass'])\n"
         "time.sleep(30)"],
    )  # fmt: skip
    try:
        measured = cluster.ProcessCpu(busy.pid)
        time.sleep(0.5)  # the child is running
        measured.mark()
        time.sleep(1.0)
        used = measured.since_mark()
        assert 0.3 < used < 1.5  # the grandchild's busy loop, not the sleeping parent alone
    finally:
        for child in cluster.psutil.Process(busy.pid).children(recursive=True):
            child.kill()
        busy.kill()
        busy.wait()


def test_redis_server_answers_and_leaves_nothing() -> None:
    with cluster.redis_server() as redis:
        folder = redis.folder
        assert redis.url == f"redis://127.0.0.1:{redis.port}/0"
        import redis as redis_py

        client = redis_py.Redis.from_url(redis.url)
        assert client.ping()
        client.close()
        pid = redis.pid
    assert not folder.exists()
    assert not cluster.psutil.pid_exists(pid) or cluster.psutil.Process(pid).status() == "zombie"


# ------------------------------------------------------------------------------ the real thing
@pytest.mark.timeout(240)
def test_tiny_cluster_run_delivers_across_processes() -> None:
    """Two `roost serve --bus` processes, PostgreSQL and Redis: every acked message reaches
    every other member, those on the other process too, and each process's CPU is reported."""
    run = subprocess.run(
        [
            sys.executable, str(BENCH / "chat.py"), "--cluster", "2", "--n", "8", "--group",
            "4", "--rates", "40", "--duration", "1.5", "--warmup", "0", "--workers", "1",
            "--json",
        ],
        capture_output=True, text=True, timeout=230, env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    spread, one = summary["steps"]  # spread first at each rate
    assert (one["server"], spread["server"]) == (chat.ONE, chat.SPREAD)
    for s in (one, spread):
        assert s["errors"] == 0 and s["closed"] == 0 and s["acked"] > 0
        assert s["links_down"] == "" and s["cluster_start"] == 1
        assert s["delivered_share"] == 1.0  # every other member got every message
        assert set(s["cpu_seconds"]) == {"roost-0", "roost-1", "postgres", "redis", "clients"}
    assert one["cross_deliveries"] == 0
    # client i on process i mod 2, groups of 4: 2 of each message's 3 receivers are elsewhere
    assert spread["cross_deliveries"] == 2 * spread["acked"]
    assert spread["cpu_seconds"]["roost-1"] > 0.05  # the second process served half of them
    assert summary["cluster"]["latency"][0]["offered"] == 40
    assert summary["server_log_problems"] == []
    assert summary["cluster"]["starts"] == 1


async def test_a_bus_link_down_is_seen_and_the_processes_start_afresh(tmp_path: Path) -> None:
    """What run_cluster does when a step ends with a link down: /healthz tells, and the
    processes started again serve the next step with working links."""
    from tests.postgres import PostgresCluster

    postgres = PostgresCluster().start()
    try:
        with cluster.redis_server() as redis:
            db = postgres.url(postgres.create_database())
            args = SimpleNamespace(
                n=4, group=4, seed=None, cluster=2, warmup=0.0, duration=1.0, workers=1
            )
            clients = await chat.prepare_roost(args, tmp_path, db)
            services = {"redis": cluster.ProcessCpu(redis.pid)}
            processes = chat.Cluster(args, tmp_path, db, redis.url, clients, services, 20.0)
            try:
                await processes.start()
                assert await processes.links_down() == ""
                redis.pause()
                down = ""
                for _ in range(50):
                    if "roost-1" in (down := await processes.links_down()):
                        break
                    await asyncio.sleep(0.2)
                assert "roost-0: " in down and "roost-1: " in down
                redis.resume()
                await processes.restart()
                assert processes.starts == 2 and await processes.links_down() == ""
                step = await processes.step(chat.SPREAD, 20.0)
                assert step.cluster_start == 2 and step.links_down == ""
                assert step.cross_deliveries > 0 and step.delivered_share == 1.0
            finally:
                await processes.stop()
    finally:
        postgres.stop()
    logs = sorted(log.name for log in tmp_path.glob("roost-*.log"))
    assert logs == [  # the first start's logs are kept beside the second's
        "roost-0-start1.log", "roost-0-start2.log", "roost-1-start1.log",
        "roost-1-start2.log", "roost-setup.log",
    ]  # fmt: skip
