"""Fan-out: the server's CPU to send one event to many connections, Roost's hub and sessions
beside websockets' own `broadcast()` in the same run.

One process serves N WebSocket connections (default 2,000) twice: once through Roost's
`InProcessHub` and `Session`s (what a chat message, a post or a presence change goes
through), once through `websockets.asyncio.server.broadcast()` (the library's own fan-out:
each connection frames the message and writes it). A second process holds the N client
connections and reads everything. The server sends `--events` events of about 160 bytes (a
chat message) to all N, one event per `--gap` so the clients keep up and nothing queues, and
counts its own CPU time (`time.process_time()`) from each send until the event loop has
written it. Reported: CPU µs per recipient (median of the events), and how long one event
to everyone held the event loop.

    python bench/fanout.py                  # 2,000 connections, 200 events each way
    python bench/fanout.py --n 500 --events 500
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, broadcast, serve

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from protocol.envelope import encode_event
from server.config import Limits
from server.hub import InProcessHub
from server.rate_limits import TokenBucket
from server.session import Session
from storage.server.accounts import Identity

HOST = "127.0.0.1"


async def run_clients(port: int, n: int) -> None:
    """The client process: N connections that read and drop everything until the server closes."""
    conns = []
    for _ in range(n):
        conns.append(await connect(f"ws://{HOST}:{port}", compression=None, ping_interval=None))
    print("connected", flush=True)

    async def drain(ws: object) -> None:
        async for _ in ws:  # type: ignore[attr-defined]
            pass

    await asyncio.gather(*(drain(ws) for ws in conns), return_exceptions=True)


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    hub = InProcessHub()  # concrete: connection_count() is not part of the Hub interface
    connections: list[ServerConnection] = []
    limits = Limits()

    async def handler(ws: ServerConnection) -> None:
        index = len(connections)
        connections.append(ws)
        identity = Identity(index, f"u{index}", index, "bench")
        session = Session(ws, identity, TokenBucket(1, 1), limits)
        hub.attach(session)
        await ws.wait_closed()

    results: dict[str, list[float]] = {"roost": [], "broadcast": []}
    async with serve(handler, HOST, 0, compression=None, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        clients = subprocess.Popen(
            [sys.executable, __file__, "--clients", str(port), "--n", str(args.n)],
            stdout=subprocess.PIPE,
        )
        assert clients.stdout is not None
        await asyncio.to_thread(clients.stdout.readline)
        while hub.connection_count() < args.n:
            await asyncio.sleep(0.05)
        users = list(range(args.n))
        for round_ in range(args.events * 2):
            way = "roost" if round_ % 2 == 0 else "broadcast"  # interleaved: same conditions
            event = encode_event(
                "chat.message",
                {"conversation": "121247763420676096", "seq": round_, "sender": "bench12",
                 "text": f"load {round_}", "sent_at": "2026-12-01T13:45:37.352000Z"},
            )  # fmt: skip
            started = time.process_time()
            if way == "roost":
                hub.publish(users, event)
                await asyncio.sleep(0)  # the sessions write at the end of the loop turn
            else:
                broadcast(connections, event.decode())
            results[way].append(time.process_time() - started)
            await asyncio.sleep(args.gap)
        server.close()
        await asyncio.to_thread(clients.wait)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="connections (default 2000)")
    parser.add_argument("--events", type=int, default=200, help="events each way (default 200)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--clients", type=int, help=argparse.SUPPRESS)  # the client process
    args = parser.parse_args()
    if args.clients:
        asyncio.run(run_clients(args.clients, args.n))
        return 0
    results = asyncio.run(measure(args))
    print(f"{args.n} connections, {args.events} events each way; server CPU per event:")
    medians = {}
    for way, values in results.items():
        medians[way] = statistics.median(values)
        print(
            f"  {way:<9} {medians[way] * 1e6 / args.n:6.2f} µs per recipient,"
            f" {medians[way] * 1e3:6.2f} ms per event to all (p90"
            f" {statistics.quantiles(values, n=10)[-1] * 1e3:.2f} ms)"
        )
    print(f"  Roost / broadcast(): {medians['roost'] / medians['broadcast']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
