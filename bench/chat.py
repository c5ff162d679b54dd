"""Chat throughput and delivery latency: Roost (every message committed before its ack) beside a
bare `websockets` broadcast server that stores nothing, in the same run.

N clients (default 500) in groups of G (default 10) on loopback. At each offered rate (total
messages per second over all clients, spread evenly, on a fixed schedule) every client sends to
its group for `--duration` seconds; every other member's connection receives each message.

  * Roost: `roost serve` with a throw-away data folder; each client is its own user, each
    group a `chat.group.create`; sends are `chat.send`. An ack means the message is committed
    with synchronous=FULL (group commit batches the messages of about a millisecond).
  * bare: a websockets server that, per message, replies an ack and `broadcast()`s the same
    bytes to the sender's group. No storage, no auth, no ordering, no seq.

Delivery latency is measured at each receiver from the sender's `time.monotonic()` carried in
the text (CLOCK_MONOTONIC is shared by processes on one machine). A rate is *sustained* when
at least 97% of the offered messages are acked within the step (every acked Roost message is
durable) and 97% of their deliveries arrived, with no errors. The load comes from `--workers`
client processes, on the same cores as the server: compare the two servers side by side, as
ratios.

With `--engines sqlite,postgresql` Roost runs twice, on each database engine, in the same run
("roost" on SQLite, "roost-pg" on a throw-away PostgreSQL cluster this script starts with the
machine's own server binaries, fsync on, as tests/postgres.py does).

With `--cluster N` Roost also runs as a cluster: N `roost serve --bus` processes (each its own
data folder) on one throw-away PostgreSQL and one throw-away Redis (the machine's
`redis-server`). At every rate, "roost-pg-bus" puts every client on the first process (the
others run idle) and "roost-pg-bus-x" spreads them over all N, client i on process i mod N, so
every group has members on every process. Each message's text carries its sender's process,
so the receivers time cross-process deliveries apart ("x p50", "x p99"); "deliv%" checks that
every acked message reached every other member, wherever connected. A second table gives the
CPU seconds each process used over each step (the Roost processes, PostgreSQL's processes,
Redis, the client workers) and all of them per 1,000 messages.

    python bench/chat.py                          # 500 clients, rates 1000..6000 msg/s
    python bench/chat.py --n 200 --rates 500,1000 --duration 3 --json
    python bench/chat.py --engines sqlite,postgresql --servers roost --rates 50,2000,3000
    python bench/chat.py --cluster 2 --n 200 --rates 50,1000,2000   # the cluster alone
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import msgspec
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from cluster import ProcessCpu, log_problems, postmaster_pid, redis_server
from connections import (
    HOST,
    ServerProcess,
    open_one,
    request,
    roost_argv,
    server_process,
)

TARGET_RATE = 3000.0
TARGET_P99_MS = 50.0
SUSTAINED_SHARE = 0.97
DRAIN_SECONDS = 2.0  # after a step, how long late acks and deliveries may still arrive


class _Frame(msgspec.Struct):
    id: int | None = None
    ok: bool | None = None
    event: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")  # Raw cannot sit in a union


class _Text(msgspec.Struct):
    text: str


_frame = msgspec.json.Decoder(_Frame)
_text = msgspec.json.Decoder(_Text)


@dataclass
class Step:
    server: str
    offered: float
    sent: int
    acked: int
    errors: int
    achieved: float
    deliveries: int
    p50_ms: float
    p99_ms: float
    ack_p99_ms: float
    sustained: bool
    server_cpu: float  # CPU seconds per second of the step: 1.0 is one whole core
    client_cpu: float  # the same, summed over the client processes
    server_ms_per_1k: float  # server CPU milliseconds per 1,000 acked messages (noise-robust)
    delivered_share: float  # deliveries / (acked messages x the other members of their group)
    # A cluster's steps: deliveries whose sender was on another server process than the
    # receiver (the figures above count every delivery), and the CPU seconds each process
    # used over the step (the Roost processes, PostgreSQL's, Redis, the client workers).
    cross_deliveries: int = 0
    cross_p50_ms: float = math.nan
    cross_p99_ms: float = math.nan
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    load_1min: float = math.nan  # the machine's load average at the step's end
    closed: int = 0  # client connections the server closed during the step
    links_down: str = ""  # a cluster's processes whose bus link was down at the step's end
    cluster_start: int = 0  # which start of a cluster's processes the step ran on
    close_reasons: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- bare server
async def run_bare_server() -> None:
    """The baseline: ack each message and broadcast it to the sender's group; nothing else."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    groups: dict[str, set[ServerConnection]] = {}
    decoder = msgspec.json.Decoder(dict[str, object])

    async def handler(ws: ServerConnection) -> None:
        group = str(await ws.recv())  # the first frame names the group
        members = groups.setdefault(group, set())
        members.add(ws)
        try:
            async for frame in ws:
                request_id = decoder.decode(frame)["id"]
                text = decoder.decode(frame)["text"]
                broadcast(
                    [m for m in members if m is not ws],
                    msgspec.json.encode({"event": "m", "data": {"text": text}}).decode(),
                )
                await ws.send(msgspec.json.encode({"id": request_id, "ok": True}).decode())
        finally:
            members.discard(ws)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(handler, HOST, 0, compression=None, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"bare broadcast listening on ws://{HOST}:{port}", file=sys.stderr, flush=True)
        await stop.wait()


# ---------------------------------------------------------------------------------- workers
async def run_worker(spec: dict[str, object]) -> dict[str, object]:
    """One client process: its share of the connections; sends on schedule, times deliveries.

    Kept cheap, the same for both servers, since it shares the cores with the server: one
    schedule (a heap) for all its clients instead of a sleeping task each, request frames
    filled into a prepared template, and a delivery's send time found in the frame's text
    without decoding the whole frame."""
    mode = str(spec["mode"])
    clients: list[dict[str, str]] = spec["clients"]  # type: ignore[assignment]
    per_client = float(spec["per_client_rate"])  # type: ignore[arg-type]
    duration = float(spec["duration"])  # type: ignore[arg-type]
    start_at = float(spec["start_at"])  # type: ignore[arg-type]
    end = start_at + duration
    deliveries: list[float] = []  # from a sender on the receiver's own server process
    cross: list[float] = []  # from a sender on another process of a cluster
    acks: list[float] = []
    counts = {"sent": 0, "acked": 0, "errors": 0, "expected": 0}
    pending: list[dict[int, float]] = [{} for _ in clients]
    # Connections the server closed (a kick, a restart): counted by close code and reason,
    # and not sent on again; the step goes on with the others.
    closed: dict[str, int] = {}
    gone: set[int] = set()

    def lost(i: int, exc: ConnectionClosed) -> None:
        if i not in gone:
            gone.add(i)
            why = f"{exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else "no close frame"
            closed[why] = closed.get(why, 0) + 1

    tag = f"{os.getpid()}-{random.getrandbits(48):x}"  # with the request id: a client_id
    # The text is the send time and the sender's process: "TIME@NODE".
    if mode == "bare":
        frames = ['{"id":%d,"text":"%r@' + c["node"] + '"}' for c in clients]
    else:
        start = '{"id":%d,"op":"chat.send","args":{"to":"'
        frames = [
            f'{start}{c["group"]}","text":"%r@{c["node"]}","client_id":"{tag}-{i}-%d"}}}}'
            for i, c in enumerate(clients)
        ]

    async def read(i: int, ws: ClientConnection) -> None:
        try:
            await read_frames(i, ws)
        except ConnectionClosed as exc:
            lost(i, exc)

    async def read_frames(i: int, ws: ClientConnection) -> None:
        mine = pending[i]
        node = clients[i]["node"]
        fanout = int(clients[i]["fanout"])
        async for raw in ws:
            now = time.monotonic()
            assert isinstance(raw, str)
            if raw.startswith('{"event"'):
                # Only timed chat messages count (not a group's "created" entry).
                at = raw.find(_TEXT)
                if at >= 0 and raw.startswith(("chat.message", "m"), 10):
                    text = raw[at + len(_TEXT) : raw.find('"', at + len(_TEXT))]
                    sent_at_text, _, sender = text.partition("@")
                    try:
                        latency = now - float(sent_at_text)
                    except ValueError:
                        continue
                    (deliveries if sender == node else cross).append(latency)
                continue
            frame = _frame.decode(raw)
            sent_at = mine.pop(frame.id, None) if frame.id is not None else None
            if frame.ok and sent_at is not None:
                counts["acked"] += 1
                counts["expected"] += fanout
                if now <= end + 0.5:
                    acks.append(now - sent_at)
            else:
                counts["errors"] += 1

    conns = await asyncio.gather(*(open_one(c["uri"], c.get("token") or None, 30) for c in clients))
    if mode == "bare":
        for ws, c in zip(conns, clients, strict=True):
            await ws.send(c["group"])
    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(conns)]
    cpu_at_start: list[float] = []
    interval = 1.0 / per_client
    heap = [(start_at + random.uniform(0, interval), i, 0) for i in range(len(clients))]
    heapq.heapify(heap)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    cpu_at_start.append(time.process_time())
    while heap and heap[0][0] < end:
        due, i, n = heapq.heappop(heap)
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        n += 1
        now = time.monotonic()
        pending[i][n] = now
        frame = frames[i] % ((n, now) if mode == "bare" else (n, now, n))
        try:
            await conns[i].send(frame)
        except ConnectionClosed as exc:
            lost(i, exc)
            continue
        counts["sent"] += 1
        heapq.heappush(heap, (due + interval, i, n))
    await asyncio.sleep(max(0.0, end + DRAIN_SECONDS - time.monotonic()))
    cpu = time.process_time() - cpu_at_start[0]
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    return {
        "deliveries": deliveries, "cross": cross, "acks": acks, "cpu": cpu, "closed": closed,
        **counts,
    }  # fmt: skip


_TEXT = '"text":"'


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_step(
    server: str,
    servers: dict[str, ProcessCpu],
    clients: list[dict[str, str]],
    rate: float,
    duration: float,
    workers: int,
    services: dict[str, ProcessCpu] | None = None,
) -> Step:
    """One offered rate for `duration` seconds. Each client names the server it connects to
    (`uri`) and that server's index (`node`). `servers` are the processes whose CPU is the
    server's own; `services` (a cluster's PostgreSQL and Redis) are measured beside them."""
    services = services or {}
    start_at = time.monotonic() + 2.0 + len(clients) / 400  # time for every worker to connect
    procs = []
    for w in range(workers):
        spec = {
            "mode": server if server == "bare" else "roost",
            "clients": clients[w::workers],
            "per_client_rate": rate / len(clients),
            "duration": duration,
            "start_at": start_at,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec).encode())
        proc.stdin.close()
        procs.append(proc)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    measured = {**servers, **services}
    for process in measured.values():
        process.mark()
    used: dict[str, float] = {}
    results = []
    for proc in procs:
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a worker failed with {proc.returncode}")
        results.append(json.loads(out))
        if len(results) == 1:
            used = {name: process.since_mark() for name, process in measured.items()}
    busy = duration + DRAIN_SECONDS  # each worker's span from start_at to its end
    acked = sum(r["acked"] for r in results)
    server_cpu_used = sum(used[name] for name in servers)
    cross = [d for r in results for d in r["cross"]]
    deliveries = [d for r in results for d in r["deliveries"]] + cross
    expected = sum(r["expected"] for r in results)
    acks = [a for r in results for a in r["acks"]]
    sent = sum(r["sent"] for r in results)
    acked_in_time = len(acks)
    errors = sum(r["errors"] for r in results)
    close_reasons: dict[str, int] = {}
    for r in results:
        for why, count in r["closed"].items():
            close_reasons[why] = close_reasons.get(why, 0) + count
    closed = sum(close_reasons.values())
    offered_total = rate * duration
    if services:
        used["clients"] = sum(r["cpu"] for r in results)
    return Step(
        server=server,
        offered=rate,
        sent=sent,
        acked=acked,
        errors=errors,
        achieved=acked_in_time / duration,
        deliveries=len(deliveries),
        p50_ms=percentile(deliveries, 0.50) * 1000,
        p99_ms=percentile(deliveries, 0.99) * 1000,
        ack_p99_ms=percentile(acks, 0.99) * 1000,
        sustained=errors == 0
        and closed == 0
        and acked_in_time >= SUSTAINED_SHARE * offered_total
        and len(deliveries) >= SUSTAINED_SHARE * expected,
        server_cpu=server_cpu_used / busy,
        client_cpu=sum(r["cpu"] for r in results) / busy,
        server_ms_per_1k=server_cpu_used * 1e6 / acked if acked else math.nan,
        delivered_share=len(deliveries) / expected if expected else math.nan,
        cross_deliveries=len(cross),
        cross_p50_ms=percentile(cross, 0.50) * 1000,
        cross_p99_ms=percentile(cross, 0.99) * 1000,
        cpu_seconds={name: round(seconds, 3) for name, seconds in used.items()} if services else {},
        load_1min=round(os.getloadavg()[0], 2),
        closed=closed,
        close_reasons=close_reasons,
    )


def placed(clients: list[dict[str, str]], servers: list[ServerProcess]) -> list[dict[str, str]]:
    """The clients spread over `servers` one by one (client i on server i mod N): groups are
    runs of consecutive clients, so every group of at least N has members on every server."""
    size: dict[str, int] = {}
    for c in clients:
        size[c["group"]] = size.get(c["group"], 0) + 1
    return [
        {**c, "uri": servers[i % len(servers)].uri, "node": str(i % len(servers)),
         "fanout": str(size[c["group"]] - 1)}
        for i, c in enumerate(clients)
    ]  # fmt: skip


# ---------------------------------------------------------------------------------- set-up
async def roost_clients(uri: str, n: int, group_size: int) -> list[dict[str, str]]:
    """Register n users (a few at a time: argon2 is slow on purpose) and make the groups."""
    tokens: list[str] = [""] * n
    slots = asyncio.Semaphore(4)

    async def one(i: int) -> None:
        async with slots:
            ws = await open_one(uri, None, 30)
            async with ws:
                reply = await request(
                    ws,
                    1,
                    "auth.register",
                    {"username": f"bench{i}", "password": "bench password", "device_name": "b"},
                    timeout=120,
                )
            tokens[i] = reply["result"]["token"]  # type: ignore[index]

    await asyncio.gather(*(one(i) for i in range(n)))
    clients = []
    for start in range(0, n, group_size):
        members = list(range(start, min(n, start + group_size)))
        ws = await open_one(uri, tokens[members[0]], 30)
        async with ws:
            reply = await request(
                ws,
                1,
                "chat.group.create",
                {"name": f"g{start}", "members": [f"bench{i}" for i in members[1:]]},
            )
        group_id = reply["result"]["id"]  # type: ignore[index]
        clients += [{"token": tokens[i], "group": group_id} for i in members]
    return clients


async def prepare_roost(
    args: argparse.Namespace, workdir: Path, db: str | None = None
) -> list[dict[str, str]]:
    """Register the users and make the groups in a server stopped afterwards, so every step runs
    on a fresh process. With --seed DIR this happens once (argon2 makes registering 500 users
    take a minute or more): later runs start from a copy of the seeded data folder (SQLite
    only: a PostgreSQL database is filled afresh)."""
    seed: Path | None = args.seed if db is None else None
    shape = {"n": args.n, "group": args.group}
    saved = seed / "clients.json" if seed is not None else None
    if seed is not None and saved is not None and saved.exists():
        stored = json.loads(saved.read_text())
        if stored["shape"] != shape:
            raise SystemExit(f"{seed} was seeded for {stored['shape']}, not {shape}")
        shutil.copytree(seed / "data", workdir / "data")
        return list(stored["clients"])
    setup = roost_argv(workdir / "data", db)
    async with server_process("roost-setup", setup, workdir) as roost:
        print(f"registering {args.n} users in groups of {args.group} ...", file=sys.stderr)
        clients = await roost_clients(roost.uri, args.n, args.group)
    if seed is not None and saved is not None:
        shutil.copytree(workdir / "data", seed / "data", dirs_exist_ok=True)
        saved.write_text(json.dumps({"shape": shape, "clients": clients}))
    return clients


async def run_roost(
    args: argparse.Namespace, workdir: Path, engine: str, rates: list[float]
) -> list[Step]:
    """Every rate on one Roost server process, its database on `engine`."""
    workdir.mkdir(parents=True)
    cluster = None
    db = None
    if engine == "postgresql":
        from tests.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        db = cluster.url(cluster.create_database())
    name = "roost" if engine == "sqlite" else "roost-pg"
    steps = []
    try:
        clients = await prepare_roost(args, workdir, db)
        async with server_process(name, roost_argv(workdir / "data", db), workdir) as roost:
            servers = {name: ProcessCpu(roost.proc.pid)}
            for rate in rates:
                step = await run_step(
                    name, servers, placed(clients, [roost]), rate, args.duration, args.workers
                )
                print_table([step]) if not args.json else None
                steps.append(step)
    finally:
        if cluster is not None:
            cluster.stop()
    return steps


def bare_clients(n: int, group_size: int) -> list[dict[str, str]]:
    return [{"group": f"g{i // group_size}"} for i in range(n)]


# ---------------------------------------------------------------------------------- cluster
ONE, SPREAD = "roost-pg-bus", "roost-pg-bus-x"
CLUSTER_RATE = 50.0  # the offered rate of the cross-process latency target
TARGET_CLUSTER_P99_MS = 20.0


async def run_cluster(args: argparse.Namespace, workdir: Path, rates: list[float]) -> list[Step]:
    """One PostgreSQL, one Redis and `--cluster` N `roost serve --bus` processes, each with its
    own data folder. At each rate: the clients spread over all N (SPREAD), so a group's
    messages cross between processes, then every client on process 0 (ONE; the others idle).

    Each process's /healthz says whether its bus link is up. A step that ends with a link down
    is not sustained (it measured processes serving alone), and before the next step the
    processes are started afresh (and warmed up again), so one step's breakage does not
    spoil the next."""
    from tests.postgres import PostgresCluster

    workdir.mkdir(parents=True)
    postgres = PostgresCluster().start()
    steps: list[Step] = []
    try:
        with redis_server() as redis:
            db = postgres.url(postgres.create_database())
            clients = await prepare_roost(args, workdir, db)
            services = {
                "postgres": ProcessCpu(postmaster_pid(postgres.data)),
                "redis": ProcessCpu(redis.pid),
            }
            cluster = Cluster(args, workdir, db, redis.url, clients, services, rates[0])
            try:
                await cluster.start()
                for rate in rates:
                    # Spread first: if overload breaks a process's bus link, the one-process
                    # step after it does not need the bus.
                    for name in (SPREAD, ONE):
                        if down := await cluster.links_down():
                            print(f"bus link down ({down}): starting the processes afresh",
                                  file=sys.stderr)  # fmt: skip
                            await cluster.restart()
                        step = await cluster.step(name, rate)
                        if not args.json:
                            print_table([step])
                            print_cpu([step])
                        steps.append(step)
            finally:
                await cluster.stop()
    finally:
        postgres.stop()
    return steps


class Cluster:
    """The `roost serve --bus` processes of a run, started again when a bus link broke."""

    def __init__(
        self,
        args: argparse.Namespace,
        workdir: Path,
        db: str,
        bus: str,
        clients: list[dict[str, str]],
        services: dict[str, ProcessCpu],
        warmup_rate: float,
    ) -> None:
        self.args, self.workdir, self.db, self.bus = args, workdir, db, bus
        self.clients, self.services, self.warmup_rate = clients, services, warmup_rate
        self.starts = 0
        self.roosts: list[ServerProcess] = []
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        self.starts += 1
        for k in range(self.args.cluster):  # one after another: the first finds itself alone
            argv = [*roost_argv(self.workdir / f"data-{k}", self.db), "--bus", self.bus]
            roost = server_process(f"roost-{k}-start{self.starts}", argv, self.workdir)
            self.roosts.append(await self._stack.enter_async_context(roost))
        if self.args.warmup > 0:  # asyncpg prepares its statements once per connection
            print(f"warming up the cluster for {self.args.warmup:g} s ...", file=sys.stderr)
            await self._run(SPREAD, self.warmup_rate, self.args.warmup)

    async def stop(self) -> None:
        await self._stack.aclose()
        self.roosts = []

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def step(self, name: str, rate: float) -> Step:
        step = await self._run(name, rate, self.args.duration)
        step.links_down = await self.links_down()
        step.sustained = step.sustained and not step.links_down
        step.cluster_start = self.starts
        return step

    async def _run(self, name: str, rate: float, duration: float) -> Step:
        servers = {f"roost-{k}": ProcessCpu(r.proc.pid) for k, r in enumerate(self.roosts)}
        where = placed(self.clients, self.roosts if name == SPREAD else self.roosts[:1])
        return await run_step(
            name, servers, where, rate, duration, self.args.workers, self.services
        )

    async def links_down(self) -> str:
        """The processes whose /healthz says their bus link is not up ("" if none)."""
        states = await asyncio.gather(*(asyncio.to_thread(bus_state, r) for r in self.roosts))
        return ", ".join(f"roost-{k}: {state}" for k, state in enumerate(states) if state != "ok")


def bus_state(roost: ServerProcess) -> str:
    """What the process's /healthz says of its bus: "ok" or why not."""
    url = roost.uri.replace("ws://", "http://") + "/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:  # 503: the body still says
        body = json.load(exc)
    except OSError as exc:
        return f"no answer ({exc})"
    return "ok" if body.get("bus") == "ok" else str(body.get("bus_reason", body.get("bus")))


def cluster_summary(steps: list[Step], processes: int) -> dict[str, object]:
    """Cross-process latency beside one process's (each spread step beside the one-process
    step next to it, so a rate offered twice gives two rows), the highest sustained
    rates, and whether the latency target was met at CLUSTER_RATE (every row there)."""
    latency = []
    held: Step | None = None
    for s in steps:
        if s.server not in (ONE, SPREAD):
            continue
        if held is None or held.server == s.server or held.offered != s.offered:
            held = s
            continue
        one, spread = (held, s) if held.server == ONE else (s, held)
        held = None
        latency.append(
            {
                "offered": spread.offered,
                "one_p50_ms": round(one.p50_ms, 2),
                "one_p99_ms": round(one.p99_ms, 2),
                "cross_p50_ms": round(spread.cross_p50_ms, 2),
                "cross_p99_ms": round(spread.cross_p99_ms, 2),
                "cross_p99_ratio": round(spread.cross_p99_ms / one.p99_ms, 2),
                "cross_delivered": spread.cross_deliveries > 0 and spread.sustained,
            }
        )
    at_rate = [row for row in latency if row["offered"] == CLUSTER_RATE]
    one_best, spread_best = best_step(steps, ONE), best_step(steps, SPREAD)
    return {
        "processes": processes,
        # how many times the processes were started: more than once when a bus link broke
        "starts": max((s.cluster_start for s in steps), default=0),
        "one_max_sustained": one_best.offered if one_best else 0,
        "spread_max_sustained": spread_best.offered if spread_best else 0,
        "sustained_ratio": (
            round(spread_best.offered / one_best.offered, 3) if one_best and spread_best else 0.0
        ),
        "latency": latency,
        "target_p99_ms": TARGET_CLUSTER_P99_MS,
        # None: the run did not offer CLUSTER_RATE
        "target_met": (
            all(
                r["cross_delivered"] and r["cross_p99_ms"] <= TARGET_CLUSTER_P99_MS for r in at_rate
            )
            if at_rate
            else None
        ),
    }


def print_cluster_summary(summary: dict[str, object]) -> None:
    print(
        "\ncross-process delivery (sender and receiver on different processes) beside one"
        " process, p50 / p99 ms:"
    )
    for row in summary["latency"]:  # type: ignore[attr-defined]
        print(
            f"  {row['offered']:>6.0f} msg/s: one process {row['one_p50_ms']:.1f} /"
            f" {row['one_p99_ms']:.1f}, cross {row['cross_p50_ms']:.1f} /"
            f" {row['cross_p99_ms']:.1f} (p99 {row['cross_p99_ratio']:.2f}x)"
        )
    met = summary["target_met"]
    verdict = "not measured (offer 50 msg/s)" if met is None else "met" if met else "not met"
    if summary["starts"] > 1:  # type: ignore[operator]
        print(f"the processes were started {summary['starts']} times: a bus link broke")
    print(
        f"highest sustained durable rate: 1 process {summary['one_max_sustained']:.0f} msg/s,"
        f" spread over {summary['processes']} {summary['spread_max_sustained']:.0f} msg/s"
        f" ({summary['sustained_ratio']:.2f}x; the top offered rate caps both)"
    )
    print(
        f"target: cross-process delivery p99 <= {TARGET_CLUSTER_P99_MS:.0f} ms at"
        f" {CLUSTER_RATE:.0f} msg/s: {verdict}"
    )


# ---------------------------------------------------------------------------------- output
def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def print_table(steps: list[Step]) -> None:
    cross = any(s.cpu_seconds for s in steps)  # a cluster's rows: cross-process columns
    print(
        f"{'server':<14} {'offered/s':>9} {'acked/s':>9} {'errors':>6} {'closed':>6}"
        f" {'deliveries':>10}"
        f" {'deliv%':>6} {'p50 ms':>7} {'p99 ms':>7}"
        + (f" {'x p50':>7} {'x p99':>7} {'bus':>4}" if cross else "")
        + f" {'ack p99':>8} {'srv cpu':>7} {'cli cpu':>7} {'srv ms/1k':>9} {'load':>5}  sustained"
    )
    for s in steps:
        print(
            f"{s.server:<14} {s.offered:>9.0f} {s.achieved:>9.0f} {s.errors:>6} {s.closed:>6}"
            f" {s.deliveries:>10} {s.delivered_share * 100:>6.1f} {_ms(s.p50_ms):>7}"
            f" {_ms(s.p99_ms):>7}"
            + (
                f" {_ms(s.cross_p50_ms):>7} {_ms(s.cross_p99_ms):>7}"
                f" {('down' if s.links_down else 'ok') if s.cpu_seconds else '-':>4}"
                if cross
                else ""
            )
            + f" {_ms(s.ack_p99_ms):>8} {s.server_cpu:>7.2f} {s.client_cpu:>7.2f}"
            f" {_ms(s.server_ms_per_1k):>9} {s.load_1min:>5.1f}  {'yes' if s.sustained else 'no'}"
        )


def print_cpu(steps: list[Step]) -> None:
    """CPU seconds each process of a cluster used over each step (its duration plus the
    drain), and all of them per 1,000 acked messages."""
    rows = [s for s in steps if s.cpu_seconds]
    if not rows:
        return
    names = list(rows[0].cpu_seconds)
    print(
        f"{'CPU seconds':<14} {'offered/s':>9} {'acked':>7}"
        + "".join(f" {name:>9}" for name in names)
        + f" {'all':>7} {'all ms/1k':>9}"
    )
    for s in rows:
        total = sum(s.cpu_seconds.values())
        per_1k = total * 1e6 / s.acked if s.acked else math.nan
        print(
            f"{s.server:<14} {s.offered:>9.0f} {s.acked:>7}"
            + "".join(f" {s.cpu_seconds.get(name, math.nan):>9.2f}" for name in names)
            + f" {total:>7.2f} {_ms(per_1k):>9}"
        )


def best_step(steps: list[Step], server: str) -> Step | None:
    ok = [s for s in steps if s.server == server and s.sustained]
    return max(ok, key=lambda s: s.offered) if ok else None


async def main(args: argparse.Namespace) -> int:
    rates = [float(r) for r in args.rates.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="roost-bench-chat-"))
    steps: list[Step] = []
    problems: list[str] = []
    try:
        if "roost" in args.servers:
            for engine in args.engines.split(","):
                steps += await run_roost(args, workdir / engine, engine, rates)
        bare_argv = [sys.executable, str(Path(__file__).resolve()), "--bare-server"]
        if "bare" in args.servers:
            async with server_process("bare", bare_argv, workdir) as bare:
                servers = {"bare": ProcessCpu(bare.proc.pid)}
                clients = placed(bare_clients(args.n, args.group), [bare])
                for rate in rates:
                    step = await run_step(
                        "bare", servers, clients, rate, args.duration, args.workers
                    )
                    print_table([step]) if not args.json else None
                    steps.append(step)
        if args.cluster:
            steps += await run_cluster(args, workdir / "cluster", rates)
    finally:
        problems = log_problems(workdir)
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in workdir.rglob("*.log"):
                shutil.copy(log, args.keep_logs / f"{log.parent.name}-{log.name}")
        shutil.rmtree(workdir, ignore_errors=True)
        if sys.exc_info()[0] is not None and problems:
            print("warnings and errors in the server logs:", *problems, sep="\n  ", file=sys.stderr)

    roost_best, bare_best = best_step(steps, "roost"), best_step(steps, "bare")
    ratio = (roost_best.offered / bare_best.offered) if roost_best and bare_best else 0.0
    at_target = [
        s for s in steps if s.server == "roost" and s.offered >= TARGET_RATE and s.sustained
    ]
    target_met = any(s.p99_ms <= TARGET_P99_MS for s in at_target)
    summary: dict[str, object] = {
        "clients": args.n,
        "group_size": args.group,
        "duration_s": args.duration,
        "workers": args.workers,
    }
    if args.servers:
        summary |= {
            "roost_max_sustained": roost_best.offered if roost_best else 0,
            "roost_pg_max_sustained": (pg.offered if (pg := best_step(steps, "roost-pg")) else 0),
            "bare_max_sustained": bare_best.offered if bare_best else 0,
            "ratio": round(ratio, 3),
            "target_met": target_met,
        }
    if args.cluster:
        summary["cluster"] = cluster_summary(steps, args.cluster)
    summary["server_log_problems"] = problems
    summary["steps"] = [asdict(s) for s in steps]
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print()
    print_table(steps)
    print_cpu(steps)
    if args.servers:
        print(
            f"\nhighest sustained rate: Roost {summary['roost_max_sustained']:.0f} msg/s"
            f" (durable), on PostgreSQL {summary['roost_pg_max_sustained']:.0f} msg/s,"
            f" bare {summary['bare_max_sustained']:.0f} msg/s; ratio {ratio:.2f}x"
            f" (the top offered rate caps both: raise --rates to find the real ceiling)"
        )
        print(
            f"target >= {TARGET_RATE:.0f} durable msg/s with delivery p99"
            f" <= {TARGET_P99_MS:.0f} ms: {'met' if target_met else 'not met'}"
        )
    if args.cluster:
        print_cluster_summary(summary["cluster"])  # type: ignore[arg-type]
    print("\nwarnings and errors in the server logs:" if problems else "\nserver logs: clean")
    for line in problems:
        print(f"  {line}")
    return 0


def check_args(args: argparse.Namespace) -> str | None:
    """What is wrong with the options, in one line; None if nothing."""
    try:
        rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        return f"--rates {args.rates!r}: write total msg/s steps such as 50,1000,2000"
    if not rates or any(not (math.isfinite(r) and r > 0) for r in rates):
        return f"--rates {args.rates!r}: every rate is a number of msg/s above 0"
    if args.n < 2 or args.group < 2:
        return "--n and --group: at least 2 (a message needs someone to receive it)"
    if args.duration <= 0 or args.workers < 1 or args.warmup < 0:
        return "--duration above 0, --workers at least 1, --warmup 0 or more"
    if args.servers is None:  # with --cluster alone, only the cluster runs
        args.servers = "" if args.cluster else "roost,bare"
    servers = [s for s in args.servers.split(",") if s]
    if unknown := set(servers) - {"roost", "bare"}:
        return f"--servers: {', '.join(sorted(unknown))}? (roost, bare)"
    if unknown := set(args.engines.split(",")) - {"sqlite", "postgresql"}:
        return f"--engines: {', '.join(sorted(unknown))}? (sqlite, postgresql)"
    if args.cluster == 1 or args.cluster < 0:
        return "--cluster: 2 or more processes (one process is the roost-pg-bus row already)"
    if args.cluster > args.group:
        return (
            f"--cluster {args.cluster} needs --group {args.cluster} or more: every group has"
            " members on every process"
        )
    if not servers and not args.cluster:
        return "nothing to run: --servers roost,bare and/or --cluster N"
    return None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="clients (default 500)")
    parser.add_argument("--group", type=int, default=10, help="clients per group (default 10)")
    parser.add_argument("--rates", default="1000,2000,3000,4000,6000", help="total msg/s steps")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per step")
    parser.add_argument("--workers", type=int, default=4, help="client processes (default 4)")
    parser.add_argument(
        "--servers",
        help="which servers to run: roost, bare (default roost,bare; none with --cluster)",
    )
    parser.add_argument(
        "--engines",
        default="sqlite",
        help="Roost's database engines, each its own run: sqlite, postgresql (default sqlite)",
    )
    parser.add_argument(
        "--cluster",
        type=int,
        default=0,
        metavar="N",
        help="also run N `roost serve --bus` processes on one PostgreSQL and one Redis:\n"
        "every client on one of them, then spread over all N (rows roost-pg-bus, -x)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds of load before a cluster's first step, not reported (default 5)",
    )
    parser.add_argument(
        "--seed",
        type=Path,
        help="keep the registered users in this folder and start later runs from a copy",
    )
    parser.add_argument(
        "--keep-logs", type=Path, metavar="DIR", help="copy the servers' logs here at the end"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (args.worker or args.bare_server) and (problem := check_args(args)):
        parser.exit(2, f"chat.py: {problem}\n")
    return args


if __name__ == "__main__":
    options = parse_args()
    if options.bare_server:
        asyncio.run(run_bare_server())
    elif options.worker:
        result = asyncio.run(run_worker(json.loads(sys.stdin.read())))
        sys.stdout.write(json.dumps(result))
    else:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        sys.exit(asyncio.run(main(options)))
