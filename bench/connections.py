"""Idle connections: how many a Roost server holds, what each costs in memory, how fast they open.

The same number N of idle WebSocket connections is opened, one server at a time, to

  * a bare `websockets` server that does nothing (the handler awaits `ws.wait_closed()`;
    `compression=None`, ping_interval 20 s like Roost), and
  * a Roost server (`roost serve` with a throw-away `--data` folder); every connection
    carries the same `Authorization: Bearer TOKEN`, obtained by registering once.

Each server runs in its own subprocess, so its memory is its own: resident set size (RSS) is
read with psutil after one warm-up connection was opened and closed ("before") and after all N
connections are open and have been idle for a moment ("after"). Memory per connection is
(after - before) / N. The connect rate is N divided by the whole ramp, with at most
`--concurrency` handshakes in flight. After the ramp, `auth.whoami` on a sample of the Roost
connections checks that they really are authenticated. A failed handshake counts as an error;
a healthy run reports errors=0.

Everything runs on 127.0.0.1. The client side of both runs is this one asyncio process, so on a
2-core machine the client and the server share the CPU: compare the two servers side by side in
one run, as ratios, rather than reading absolute figures.

Run from the repository root:

    python bench/connections.py                 # 5,000 connections to each server
    python bench/connections.py --n 10000       # the target: 10,000 at <= 2x bare memory
    python bench/connections.py --n 10000 --json

The script raises its own open-file limit to the hard limit; the servers inherit it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from websockets.asyncio.client import ClientConnection, connect

HOST = "127.0.0.1"
LISTENING = re.compile(r"listening on ws://([0-9.]+):(\d+)")
PING_INTERVAL = 20.0  # Roost's default (server.config.ServerConfig.ping_interval)
SERVER_START_TIMEOUT = 30.0
FD_MARGIN = 200  # files besides the sockets: interpreter, pipes, log files, sqlite


# ---------------------------------------------------------------------------------- results
@dataclass
class Result:
    server: str
    connections: int = 0  # opened successfully
    errors: int = 0  # failed handshakes
    error_kinds: dict[str, int] = field(default_factory=dict)
    ramp_seconds: float = 0.0
    connect_rate: float = 0.0  # connections per second over the whole ramp
    rss_before: int = 0  # bytes
    rss_after: int = 0
    server_established: int = 0  # TCP connections the server process holds open, per psutil
    kib_per_connection: float = 0.0
    auth_checked: int = 0  # Roost only: whoami sent on this many connections
    auth_ok: int = 0
    auth_failures: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------- servers
@dataclass
class ServerProcess:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def uri(self) -> str:
        return f"ws://{HOST}:{self.port}"

    def rss(self) -> int:
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def established(self) -> int:
        connections = psutil.Process(self.proc.pid).net_connections(kind="tcp")
        return sum(c.status == psutil.CONN_ESTABLISHED for c in connections)

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@contextlib.asynccontextmanager
async def server_process(name: str, argv: list[str], workdir: Path) -> AsyncIterator[ServerProcess]:
    """Start a server subprocess, wait for its "listening on ws://HOST:PORT" line, stop it after.

    Its output goes to a file, not a pipe: a pipe nobody reads would block a chatty server.
    """
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        port = await _wait_for_port(proc, log_path)
        yield ServerProcess(name, proc, port, log_path)
    finally:
        await _stop(proc)


async def _wait_for_port(proc: subprocess.Popen[bytes], log_path: Path) -> int:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        match = LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            return int(match.group(2))
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()}")
        await asyncio.sleep(0.05)
    raise RuntimeError(
        f"server did not start within {SERVER_START_TIMEOUT:.0f}s:\n{log_path.read_text()}"
    )


async def _stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; waits without blocking the event loop, so client
    connections still open can answer the server's closing handshakes."""
    if proc.poll() is None:
        proc.terminate()
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


# Every client of a benchmark connects (and registers) from one address: the caps an
# internet-facing server keeps per address would refuse all but the first few.
BENCH_ADDRESS_LIMITS = (
    "--connections-per-address",
    "0",
    "--anonymous-per-address",
    "0",
    "--registrations-per-hour",
    "0",
)


def roost_argv(data_dir: Path, db: str | None = None) -> list[str]:
    # `roost serve`, run by this interpreter so the pid is the server's own (no launcher shim).
    return [
        sys.executable,
        "-c",
        "from cli.main import app; app()",
        "serve",
        "--host",
        HOST,
        "--port",
        "0",
        "--data",
        str(data_dir),
        "--registration",
        "open",
        *BENCH_ADDRESS_LIMITS,
        *(("--db", db) if db else ()),
    ]


def bare_argv() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--bare-server"]


async def run_bare_server() -> None:
    """The baseline: a websockets server that accepts connections and does nothing else."""
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(handler, HOST, 0, compression=None, ping_interval=PING_INTERVAL) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"bare websockets listening on ws://{HOST}:{port}", file=sys.stderr, flush=True)
        await stop.wait()


# ---------------------------------------------------------------------------------- clients
def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def open_one(uri: str, token: str | None, open_timeout: float) -> ClientConnection:
    return await connect(
        uri, additional_headers=bearer(token), compression=None, open_timeout=open_timeout
    )


async def request(
    ws: ClientConnection, request_id: int, op: str, args: dict[str, object], timeout: float = 10.0
) -> dict[str, object]:
    """Send one request and return its reply, skipping any events that arrive first."""
    await ws.send(json.dumps({"id": request_id, "op": op, "args": args}))
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("id") == request_id:
                return frame


async def register(uri: str) -> str:
    """One account and device; its token authenticates every benchmark connection."""
    async with await open_one(uri, None, 10) as ws:
        reply = await request(
            ws,
            1,
            "auth.register",
            {"username": "bench", "password": "benchpassword", "device_name": "bench"},
        )
    if not reply.get("ok"):
        raise RuntimeError(f"auth.register failed: {reply}")
    return str(reply["result"]["token"])  # type: ignore[index]


async def open_many(
    uri: str,
    token: str | None,
    n: int,
    concurrency: int,
    open_timeout: float,
    result: Result,
    opened: list[ClientConnection],
) -> None:
    """Open n connections into `opened` (as they open, so an interrupted ramp can still close
    them) with at most `concurrency` handshakes in flight; record the rate and the errors."""
    gate = asyncio.Semaphore(concurrency)
    errors: collections.Counter[str] = collections.Counter()

    async def one() -> None:
        async with gate:
            try:
                opened.append(await open_one(uri, token, open_timeout))
            except Exception as exc:  # every failed handshake is counted, whatever the cause
                errors[f"{type(exc).__name__}: {exc}"[:120]] += 1

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    result.ramp_seconds = time.perf_counter() - started
    result.connections = len(opened)
    result.errors = sum(errors.values())
    result.error_kinds = dict(errors.most_common(10))
    result.connect_rate = len(opened) / result.ramp_seconds


async def close_all(connections: list[ClientConnection], concurrency: int = 500) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(ws: ClientConnection) -> None:
        async with gate:
            with contextlib.suppress(Exception):
                await ws.close()

    await asyncio.gather(*(one(ws) for ws in connections))


async def check_authenticated(
    connections: list[ClientConnection], sample: int, result: Result
) -> None:
    """auth.whoami on a random sample: each must answer ok:true as the bench user."""
    chosen = random.sample(connections, min(sample, len(connections)))

    async def one(ws: ClientConnection, request_id: int) -> str | None:
        try:
            reply = await request(ws, request_id, "auth.whoami", {})
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        if reply.get("ok") is not True:
            return f"not ok: {reply}"
        return None

    failures = await asyncio.gather(*(one(ws, i + 2) for i, ws in enumerate(chosen)))
    result.auth_checked = len(chosen)
    result.auth_failures = [f for f in failures if f is not None][:10]
    result.auth_ok = sum(f is None for f in failures)


# ---------------------------------------------------------------------------------- one run
async def measure(server: ServerProcess, token: str | None, args: argparse.Namespace) -> Result:
    result = Result(server.name)
    # Warm-up: one connection (and for Roost one request) so code paths and caches are loaded.
    async with await open_one(server.uri, token, 10) as ws:
        if token:
            await request(ws, 1, "auth.whoami", {})
    await asyncio.sleep(1.0)
    result.rss_before = server.rss()

    connections: list[ClientConnection] = []
    try:
        await open_many(
            server.uri, token, args.n, args.concurrency, args.open_timeout, result, connections
        )
        await asyncio.sleep(args.idle)
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} server died:\n{server.log_tail()}")
        result.rss_after = server.rss()
        result.server_established = server.established()
        if token:
            await check_authenticated(connections, args.auth_sample, result)
    finally:
        await close_all(connections)
    if result.connections:
        result.kib_per_connection = (
            (result.rss_after - result.rss_before) / result.connections / 1024
        )
    return result


async def bench_bare(workdir: Path, args: argparse.Namespace) -> Result:
    async with server_process("bare", bare_argv(), workdir) as server:
        return await measure(server, None, args)


async def bench_roost(workdir: Path, args: argparse.Namespace) -> Result:
    data_dir = workdir / "roost-data"
    async with server_process("roost", roost_argv(data_dir), workdir) as server:
        token = await register(server.uri)
        result = await measure(server, token, args)
        if result.errors and args.verbose:
            print(f"--- roost server log (tail) ---\n{server.log_tail()}", file=sys.stderr)
        return result


# ---------------------------------------------------------------------------------- report
def raise_open_file_limit(n: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, n + FD_MARGIN)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < n + FD_MARGIN:
        print(
            f"warning: open-file limit {target} is below {n} connections + {FD_MARGIN}; "
            "expect 'Too many open files'",
            file=sys.stderr,
        )
    return target


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def ratios(bare: Result, roost: Result) -> dict[str, float | None]:
    def ratio(a: float, b: float) -> float | None:
        return a / b if b > 0 else None

    return {
        "memory_per_connection": ratio(roost.kib_per_connection, bare.kib_per_connection),
        "connect_rate": ratio(roost.connect_rate, bare.connect_rate),
    }


def print_table(results: list[Result], args: argparse.Namespace, fd_limit: int) -> None:
    print(
        f"idle connections: n={args.n} per server, {HOST}, at most {args.concurrency} "
        f"handshakes in flight, idle {args.idle:g}s before measuring, open-file limit {fd_limit}"
    )
    print(
        f"{'server':<7}{'conns':>7}{'errors':>8}{'held':>7}{'ramp s':>8}{'conn/s':>9}"
        f"{'RSS before':>13}{'RSS after':>13}{'KiB/conn':>10}"
    )
    for r in results:
        print(
            f"{r.server:<7}{r.connections:>7}{r.errors:>8}{r.server_established:>7}"
            f"{r.ramp_seconds:>8.2f}{r.connect_rate:>9.0f}{mib(r.rss_before):>13}"
            f"{mib(r.rss_after):>13}{r.kib_per_connection:>10.2f}"
        )
    print("(held: TCP connections the server process has established when RSS is read)")
    for r in results:
        for kind, count in r.error_kinds.items():
            print(f"  {r.server} error x{count}: {kind}")
        if r.auth_checked:
            print(f"{r.server} auth check: {r.auth_ok}/{r.auth_checked} auth.whoami ok:true")
        for failure in r.auth_failures:
            print(f"  {r.server} auth failure: {failure}")


def format_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


async def main_async(args: argparse.Namespace) -> int:
    # SIGTERM cancels the run like Ctrl-C does, so the cleanup below still happens.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    fd_limit = raise_open_file_limit(args.n)
    workdir = Path(tempfile.mkdtemp(prefix="roost-bench-conn-"))
    try:
        bare = await bench_bare(workdir, args)
        roost = await bench_roost(workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    r = ratios(bare, roost)
    if args.json:
        print(
            json.dumps(
                {
                    "n": args.n,
                    "concurrency": args.concurrency,
                    "idle_seconds": args.idle,
                    "open_file_limit": fd_limit,
                    "bare": asdict(bare),
                    "roost": asdict(roost),
                    "ratio": r,
                },
                indent=2,
            )
        )
    else:
        print_table([bare, roost], args, fd_limit)
        print(
            f"ratio: memory/conn {format_ratio(r['memory_per_connection'])} bare, "
            f"connect rate {format_ratio(r['connect_rate'])} bare"
        )
    healthy = bare.errors == 0 and roost.errors == 0 and roost.auth_ok == roost.auth_checked
    return 0 if healthy else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="connections per server (default 5000)")
    parser.add_argument(
        "--concurrency", type=int, default=200, help="handshakes in flight at once (default 200)"
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=2.0,
        help="seconds all connections stay idle before RSS is read (default 2)",
    )
    parser.add_argument(
        "--open-timeout",
        type=float,
        default=10.0,
        help="client handshake timeout in seconds (websockets' default 10)",
    )
    parser.add_argument(
        "--auth-sample",
        type=int,
        default=100,
        help="Roost connections checked with auth.whoami (default 100)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--verbose", action="store_true", help="print the server log tail on errors"
    )
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_server:
        asyncio.run(run_bare_server())
        return 0
    try:
        return asyncio.run(main_async(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(
            "interrupted; connections closed, servers stopped, temp files removed", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
