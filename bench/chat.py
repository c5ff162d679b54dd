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
durable) with no errors. The load comes from `--workers` client processes, on the same cores
as the server: compare the two servers side by side, as ratios.

With `--engines sqlite,postgresql` Roost runs twice, on each database engine, in the same run
("roost" on SQLite, "roost-pg" on a throw-away PostgreSQL cluster this script starts with the
machine's own server binaries, fsync on, as tests/postgres.py does).

    python bench/chat.py                          # 500 clients, rates 1000..6000 msg/s
    python bench/chat.py --n 200 --rates 500,1000 --duration 3 --json
    python bench/chat.py --engines sqlite,postgresql --servers roost --rates 50,2000,3000
"""

from __future__ import annotations

import argparse
import asyncio
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
from dataclasses import asdict, dataclass
from pathlib import Path

import msgspec
import psutil
from websockets.asyncio.client import ClientConnection

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from connections import HOST, open_one, request, roost_argv, server_process

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
    uri = str(spec["uri"])
    mode = str(spec["mode"])
    clients: list[dict[str, str]] = spec["clients"]  # type: ignore[assignment]
    per_client = float(spec["per_client_rate"])  # type: ignore[arg-type]
    duration = float(spec["duration"])  # type: ignore[arg-type]
    start_at = float(spec["start_at"])  # type: ignore[arg-type]
    end = start_at + duration
    deliveries: list[float] = []
    acks: list[float] = []
    counts = {"sent": 0, "acked": 0, "errors": 0}
    pending: list[dict[int, float]] = [{} for _ in clients]
    tag = f"{os.getpid()}-{random.getrandbits(48):x}"  # with the request id: a client_id
    if mode == "bare":
        template = '{"id":%d,"text":"%r"}'
        frames = [template for _ in clients]
    else:
        frames = [
            '{"id":%d,"op":"chat.send","args":{"to":"' + c["group"] + '","text":"%r",'
            '"client_id":"' + f"{tag}-{i}-" + '%d"}}'
            for i, c in enumerate(clients)
        ]

    async def read(i: int, ws: ClientConnection) -> None:
        mine = pending[i]
        async for raw in ws:
            now = time.monotonic()
            assert isinstance(raw, str)
            if raw.startswith('{"event"'):
                # Only timed chat messages count (not a group's "created" entry).
                at = raw.find(_TEXT)
                if at >= 0 and raw.startswith(("chat.message", "m"), 10):
                    text = raw[at + len(_TEXT) : raw.find('"', at + len(_TEXT))]
                    try:
                        deliveries.append(now - float(text))
                    except ValueError:
                        pass
                continue
            frame = _frame.decode(raw)
            sent_at = mine.pop(frame.id, None) if frame.id is not None else None
            if frame.ok and sent_at is not None:
                counts["acked"] += 1
                if now <= end + 0.5:
                    acks.append(now - sent_at)
            else:
                counts["errors"] += 1

    conns = await asyncio.gather(*(open_one(uri, c.get("token") or None, 30) for c in clients))
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
        await conns[i].send(frame)
        counts["sent"] += 1
        heapq.heappush(heap, (due + interval, i, n))
    await asyncio.sleep(max(0.0, end + DRAIN_SECONDS - time.monotonic()))
    cpu = time.process_time() - cpu_at_start[0]
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    return {"deliveries": deliveries, "acks": acks, "cpu": cpu, **counts}


_TEXT = '"text":"'


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def run_step(
    server: str,
    pid: int,
    uri: str,
    clients: list[dict[str, str]],
    rate: float,
    duration: float,
    workers: int,
) -> Step:
    start_at = time.monotonic() + 2.0 + len(clients) / 400  # time for every worker to connect
    procs = []
    for w in range(workers):
        spec = {
            "uri": uri,
            "mode": server,
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
    server_cpu_start = cpu_seconds(pid)
    results = []
    for proc in procs:
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a worker failed with {proc.returncode}")
        results.append(json.loads(out))
        if len(results) == 1:
            server_cpu_end = cpu_seconds(pid)
    busy = duration + DRAIN_SECONDS  # each worker's span from start_at to its end
    acked = sum(r["acked"] for r in results)
    server_cpu_used = server_cpu_end - server_cpu_start
    deliveries = [d for r in results for d in r["deliveries"]]
    acks = [a for r in results for a in r["acks"]]
    sent = sum(r["sent"] for r in results)
    acked_in_time = len(acks)
    errors = sum(r["errors"] for r in results)
    offered_total = rate * duration
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
        sustained=errors == 0 and acked_in_time >= SUSTAINED_SHARE * offered_total,
        server_cpu=server_cpu_used / busy,
        client_cpu=sum(r["cpu"] for r in results) / busy,
        server_ms_per_1k=server_cpu_used * 1e6 / acked if acked else math.nan,
    )


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
    elif engine != "sqlite":
        raise SystemExit(f"--engines: {engine}? (sqlite, postgresql)")
    name = "roost" if engine == "sqlite" else "roost-pg"
    steps = []
    try:
        clients = await prepare_roost(args, workdir, db)
        async with server_process(name, roost_argv(workdir / "data", db), workdir) as roost:
            for rate in rates:
                step = await run_step(
                    name, roost.proc.pid, roost.uri, clients, rate, args.duration, args.workers
                )
                print_table([step]) if not args.json else None
                steps.append(step)
    finally:
        if cluster is not None:
            cluster.stop()
    return steps


def bare_clients(n: int, group_size: int) -> list[dict[str, str]]:
    return [{"group": f"g{i // group_size}"} for i in range(n)]


def print_table(steps: list[Step]) -> None:
    print(
        f"{'server':<8} {'offered/s':>9} {'acked/s':>9} {'errors':>6} {'deliveries':>10}"
        f" {'p50 ms':>7} {'p99 ms':>7} {'ack p99':>8} {'srv cpu':>7} {'cli cpu':>7}"
        f" {'srv ms/1k':>9}  sustained"
    )
    for s in steps:
        print(
            f"{s.server:<8} {s.offered:>9.0f} {s.achieved:>9.0f} {s.errors:>6}"
            f" {s.deliveries:>10} {s.p50_ms:>7.1f} {s.p99_ms:>7.1f} {s.ack_p99_ms:>8.1f}"
            f" {s.server_cpu:>7.2f} {s.client_cpu:>7.2f} {s.server_ms_per_1k:>9.1f}"
            f"  {'yes' if s.sustained else 'no'}"
        )


async def main(args: argparse.Namespace) -> int:
    rates = [float(r) for r in args.rates.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="roost-bench-chat-"))
    steps: list[Step] = []
    try:
        if "roost" in args.servers:
            for engine in args.engines.split(","):
                steps += await run_roost(args, workdir / engine, engine, rates)
        bare_argv = [sys.executable, str(Path(__file__).resolve()), "--bare-server"]
        if "bare" in args.servers:
            async with server_process("bare", bare_argv, workdir) as bare:
                for rate in rates:
                    step = await run_step(
                        "bare",
                        bare.proc.pid,
                        bare.uri,
                        bare_clients(args.n, args.group),
                        rate,
                        args.duration,
                        args.workers,
                    )
                    print_table([step]) if not args.json else None
                    steps.append(step)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def best(server: str) -> Step | None:
        ok = [s for s in steps if s.server == server and s.sustained]
        return max(ok, key=lambda s: s.offered) if ok else None

    roost_best, bare_best = best("roost"), best("bare")
    ratio = (roost_best.offered / bare_best.offered) if roost_best and bare_best else 0.0
    at_target = [
        s for s in steps if s.server == "roost" and s.offered >= TARGET_RATE and s.sustained
    ]
    target_met = any(s.p99_ms <= TARGET_P99_MS for s in at_target)
    summary = {
        "clients": args.n,
        "group_size": args.group,
        "duration_s": args.duration,
        "workers": args.workers,
        "roost_max_sustained": roost_best.offered if roost_best else 0,
        "roost_pg_max_sustained": (pg.offered if (pg := best("roost-pg")) else 0),
        "bare_max_sustained": bare_best.offered if bare_best else 0,
        "ratio": round(ratio, 3),
        "target_met": target_met,
        "steps": [asdict(s) for s in steps],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print()
        print_table(steps)
        print(
            f"\nhighest sustained rate: Roost {summary['roost_max_sustained']:.0f} msg/s (durable),"
            f" on PostgreSQL {summary['roost_pg_max_sustained']:.0f} msg/s,"
            f" bare {summary['bare_max_sustained']:.0f} msg/s; ratio {ratio:.2f}x"
            f" (the top offered rate caps both: raise --rates to find the real ceiling)"
        )
        print(
            f"target >= {TARGET_RATE:.0f} durable msg/s with delivery p99"
            f" <= {TARGET_P99_MS:.0f} ms: {'met' if target_met else 'not met'}"
        )
    return 0


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
        "--servers", default="roost,bare", help="which servers to run (default roost,bare)"
    )
    parser.add_argument(
        "--engines",
        default="sqlite",
        help="Roost's database engines, each its own run: sqlite, postgresql (default sqlite)",
    )
    parser.add_argument(
        "--seed",
        type=Path,
        help="keep the registered users in this folder and start later runs from a copy",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


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
