"""Mixed load: many connected clients on one Roost server for a minute, beside a bare
`websockets` echo server driven by the same clients in the same run.

C clients (default 2,000 connections, shared by U users, default 200: registering is argon2
on purpose, so each user has several connections, as a person with several devices) each
send requests on a fixed random schedule; together `--rate` requests a second (default 300:
one every ~7 s per client, a busy person's pace) in this mix: home timeline reads
(`timeline.home`), posts (`post.create`), chat messages (`chat.send` to the user's group of
10) and small file commits (a 1 KiB `RPUT` block, then `files.commit` of a new path; its
latency covers both round trips). Users follow the next 10 users, so a post fans out to 10
timelines and their online connections.

Halfway through, a *slow consumer* connects: a user who is in every chat group and follows
everyone, so it is sent most events, and who stops reading (a tiny socket receive buffer, no
reads). From the start (so both halves carry the same load) 30 feeder users, each in a group
with it, send it `--busy-rate` long messages a second between them, which fill the kernel's
buffers within seconds. The server must close it (4008, too far behind) and the others must
not notice: latency percentiles are reported for each half ("without" / "with" the slow
consumer), both after a warm-up.

Reported per server: ops/s and latency p50/p99 by kind, errors (any refused or unanswered
request, any connection lost: must be zero), and the server's RSS sampled every second
(first and last after the warm-up, and the slope). The hot-post cache (`roost serve
--post-cache`, 50,000 posts by default, ~0.8 KiB each) grows RSS until it is full, which takes
~19 minutes at this load: the slope counts from the second `/metrics` shows it full (later
than the warm-up's end), and until then the report says it is still filling. The baseline is
a bare websockets server that answers each request at once (an ack, no work): the transport
cost of the same load; the ratio of the two is printed. The clients run in `--workers`
processes on the same machine.

`--series` prints each second of the Roost run: requests sent, their p50/p99/max, events the
clients received, the server's CPU, the whole machine's busy CPU (other work on a shared
machine shows there), RSS, queued frames and the second the slow consumer was dropped; a slow
second with the server idle and the machine busy is not the server's doing. `--rss-window N`
reports the RSS slope of each N seconds from then on, the last one as the run's (on a long
run: is it flat once the caches are full?), and beside it the same windows' slopes of what
the memory holds: from `/metrics`, SQLite's allocations, the C heap in use, Python's blocks and
the packed-block index; from the server's memory map (`memory_map.py`, every 10 s), RSS by
kind of mapping (main heap, the threads' malloc arenas, stacks, other anonymous memory, which
is mostly Python's object arenas, and files). What is in use flat while a mapping grows is
memory an allocator keeps free, not a leak.

With 2 CPUs or more the server runs alone on the last one and the client processes (and this
one: set-up, the slow consumer and its feeders) on the others (`--pin`, the default;
`--no-pin` lets the scheduler mix them), so the clients' own bursts do not queue the server;
the bare server is pinned the same way. `--series` then also shows how busy the server's core
was (other work on a shared machine lands there too). `--pairs N` runs N times with the slow
consumer and N times without it (controls), alternating (which goes first swaps every pair:
a machine that slows down over a session would otherwise weigh on one set), each on a fresh
server, and prints each run's p99 second half / first half by kind with the medians for both
and the absolute p50 / p99: one run's halves differ by more than the effect looked for, a
control's just as much, so only the spread over several runs tells them apart.

`--cycle N` compares within one run instead: from the warm-up's end, at the start of every
N seconds a new stalled connection of the slow consumer's user joins, and is closed once
`/metrics` shows the server dropped it (the feeders keep sending throughout). Requests sent in
a second when one was open (or in the second after it went: its clean-up) are "with", all
others "without"; and cycle by cycle, the p99 of the "with" seconds over that of the rest of
the same cycle, so both sides of each ratio come from the same minute of the same machine.
`--cycle-control` makes every other cycle a control: a connection of the same user that reads
everything, open as long as the last stalled one was. The slow consumer's user is sent most
events, so its connection costs the server something stalled or not; the control tells that
cost apart from the cost of being stalled.

    pip install -e '.[bench]'
    python bench/load.py                                   # 2,000 clients, 60 s
    python bench/load.py --clients 200 --users 20 --rate 100 --duration 40   # a quick look
    python bench/load.py --roost-only --series --serve-arg=--send-queue-bytes=256KiB
    python bench/load.py --roost-only --duration 540 --rss-window 120 --serve-arg=--post-cache=5000
    python bench/load.py --pairs 3                         # with the slow consumer 3x, without 3x
    python bench/load.py --roost-only --duration 900 --cycle 30 --cycle-control   # one run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import heapq
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Set
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import memory_map
from chat import percentile, roost_clients
from connections import HOST, bearer, open_one, request, roost_argv, server_process

from protocol.files import PUT, Codec, encode_block_frame
from server.social.services import HOT_POSTS

KINDS = ("timeline", "post", "chat", "file")
MIX = {"timeline": 0.50, "post": 0.15, "chat": 0.30, "file": 0.05}
FOLLOWS = 10  # each user follows the next FOLLOWS users
SLOW_USER = "slowreader"
BUSY_TEXT = "x" * 4000  # the longest chat message
FEEDERS = 30  # users feeding the slow consumer
CONNECTS_AT_ONCE = 50  # handshakes in flight per worker
DRAIN_SECONDS = 3.0


class _Frame(msgspec.Struct):
    id: int | None = None
    ok: bool | None = None
    event: str | None = None
    result: msgspec.Raw = msgspec.Raw(b"null")


class _Outcomes(msgspec.Struct):
    outcomes: list[dict[str, object]] = []


class _Stored(msgspec.Struct):
    hash: str = ""  # the bare server answers an RPUT with {}


_frame = msgspec.json.Decoder(_Frame)
_stored = msgspec.json.Decoder(_Stored)
_outcomes = msgspec.json.Decoder(_Outcomes)


@dataclass
class KindStats:
    ops: int = 0  # answered ok over the whole run
    p50_without_ms: float = math.nan
    p99_without_ms: float = math.nan
    p50_with_ms: float = math.nan
    p99_with_ms: float = math.nan


@dataclass
class Spell:
    """One connection of the slow consumer's user under --cycle."""

    joined: float  # seconds into the run
    gone: float
    reading: bool  # a connection that reads (--cycle-control), not a stalled one
    dropped: bool = False  # the server dropped it as too far behind


@dataclass
class Run:
    server: str
    clients: int
    duration: float
    offered: float
    ops_per_s: float = 0.0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    events: int = 0  # events the clients received
    kinds: dict[str, KindStats] = field(default_factory=dict)
    rss_first_mib: float = math.nan  # after the warm-up
    rss_last_mib: float = math.nan
    # The post cache (roost serve --post-cache) grows RSS until it is full; the slope and its
    # windows count from the second it is full (or from the warm-up's end, if later)
    post_cache: int = 0  # its capacity
    cached_posts: int = 0  # how full it was at the end
    post_cache_full_at: float = math.nan  # seconds into the run; NaN: still filling at the end
    rss_full_mib: float = math.nan  # RSS when it was full
    rss_slope_mib_per_min: float = math.nan  # over the last --rss-window seconds
    rss_windows: list[tuple[float, float, float]] = field(default_factory=list)  # from, to, slope
    # the same windows' slopes (per minute) of what the memory holds, by part: from /metrics
    # (MEMORY_PARTS) and from the server's memory map (memory_map.PARTS)
    part_windows: dict[str, list[float]] = field(default_factory=dict)
    slow_consumer: str = "-"  # how the slow consumer's connection ended
    server_cpu: float = 0.0  # CPU seconds per second of the run (1.0 is one core)
    dropped: int = 0  # connections the server closed as too far behind (its /metrics)
    queued_peak: int = 0  # most frames queued on the server, all connections, sampled each second
    pinned: str = ""  # where the server and the clients ran, when pinned
    # --cycle: each slow consumer's connection (and with --cycle-control each reading one);
    # per cycle, p99 (all kinds) while it was open / while none was
    spells: list[Spell] = field(default_factory=list)
    cycle_ratios: list[float] = field(default_factory=list)
    reading_kinds: dict[str, tuple[float, float]] = field(default_factory=dict)  # p50, p99 ms
    reading_ratios: list[float] = field(default_factory=list)
    # per second of the run: second, requests sent, p50 ms, p99 ms, max ms, events received,
    # server CPU, machine CPU (cores busy, everything on it: clients, server, other work),
    # the server's own core busy (pinned runs; NaN otherwise), RSS MiB, queued frames,
    # connections dropped so far
    series: list[
        tuple[int, int, float, float, float, int, float, float, float, float, int, int]
    ] = field(default_factory=list)


# ---------------------------------------------------------------------------------- pinning
@dataclass
class Cpus:
    """Where each side runs when pinned: the server alone on the last CPU, the client
    processes (and this one: set-up, the slow consumer, its feeders) on the others."""

    server: set[int]
    clients: set[int]

    def describe(self) -> str:
        return f"server on CPU {_cpu_list(self.server)}, clients on {_cpu_list(self.clients)}"


def plan_cpus(pin: bool) -> Cpus | None:
    if not pin or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return Cpus({cpus[-1]}, set(cpus[:-1]))


def pin_process(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` onto `cpus`; threads it starts later inherit the setting.
    (sched_setaffinity on a pid moves only its main thread.)"""
    tasks = Path(f"/proc/{pid}/task")
    for _ in range(2):  # a thread started while the first pass ran
        tids = [int(t) for t in os.listdir(tasks)] if tasks.is_dir() else [pid]
        for tid in tids:
            try:
                os.sched_setaffinity(tid, cpus)
            except ProcessLookupError:
                pass


def _cpu_list(cpus: set[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


# ---------------------------------------------------------------------------------- bare server
async def run_bare_server() -> None:
    """The baseline: answer every request at once with an ack; nothing stored or sent on."""
    from websockets.asyncio.server import ServerConnection, serve

    class _Id(msgspec.Struct):
        id: int

    decode_id = msgspec.json.Decoder(_Id).decode

    async def handler(ws: ServerConnection) -> None:
        async for frame in ws:
            if isinstance(frame, bytes):  # a block: its request id is in the header
                request_id = int.from_bytes(frame[4:12], "big")
                await ws.send(b'{"id":%d,"ok":true,"result":{}}' % request_id, text=True)
            else:
                request_id = decode_id(frame).id
                result = b'{"outcomes":[]}' if '"files.commit"' in frame else b"{}"
                await ws.send(b'{"id":%d,"ok":true,"result":%s}' % (request_id, result), text=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(handler, HOST, 0, compression=None, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"bare echo listening on ws://{HOST}:{port}", file=sys.stderr, flush=True)
        await stop.wait()


# ---------------------------------------------------------------------------------- workers
async def run_worker(spec: dict[str, object]) -> dict[str, object]:
    """One client process: its share of the connections, one schedule for all of them."""
    uri = str(spec["uri"])
    clients: list[dict[str, str]] = spec["clients"]  # type: ignore[assignment]
    rate = float(spec["rate"])  # type: ignore[arg-type]  # this worker's requests per second
    start_at = float(spec["start_at"])  # type: ignore[arg-type]
    duration = float(spec["duration"])  # type: ignore[arg-type]
    end = start_at + duration
    # kind -> second of the run (when the request was sent) -> latencies: the halves, the
    # --cycle classes and the series all come from these
    by_second: dict[str, dict[int, list[float]]] = {k: {} for k in KINDS}
    events_by_second: dict[int, int] = {}  # second of the run -> events received
    ok = {k: 0 for k in KINDS}
    errors: dict[str, int] = {}
    events = 0
    pending: list[dict[int, tuple[str, float]]] = [{} for _ in clients]
    conns: list[ClientConnection | None] = [None] * len(clients)
    tag = f"{os.getpid()}x{random.getrandbits(32):x}"
    next_id = 0

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    def finish(kind: str, sent_at: float, now: float) -> None:
        ok[kind] += 1
        by_second[kind].setdefault(int(sent_at - start_at), []).append(now - sent_at)

    async def reader(i: int, ws: ClientConnection) -> None:
        nonlocal events
        mine = pending[i]
        try:
            async for raw in ws:
                now = time.monotonic()
                if raw[:9] == '{"event":':  # counted, not parsed: keeps the clients cheap
                    events += 1
                    second = int(now - start_at)
                    events_by_second[second] = events_by_second.get(second, 0) + 1
                    continue
                frame = _frame.decode(raw)
                entry = mine.pop(frame.id, None)
                if entry is None:
                    continue
                kind, sent_at = entry
                if not frame.ok:
                    error(f"{kind} refused")
                elif kind == "block":  # the block is stored: now commit the file
                    await commit_file(i, ws, sent_at, frame.result)
                elif kind == "file" and any(
                    "code" in o for o in _outcomes.decode(frame.result).outcomes
                ):
                    error("file item refused")
                else:
                    finish(kind, sent_at, now)
        except ConnectionClosed:
            pass
        except Exception as exc:  # a bug here must show, not pass for unanswered requests
            error(f"client failed: {exc!r}"[:120])
        if time.monotonic() < end + DRAIN_SECONDS:
            error("connection lost")

    async def commit_file(i: int, ws: ClientConnection, sent_at: float, block: msgspec.Raw) -> None:
        nonlocal next_id
        next_id += 1
        digest = _stored.decode(block).hash
        item = {
            "path": f"load/{tag}-{next_id}.txt",
            "parent_id": None,
            "size": 1024,
            "blocks": [digest] if digest else [],
        }
        args = {
            "namespace_id": clients[i]["namespace"],
            "items": [item],
            "client_id": f"{tag}-f{next_id}",
        }
        pending[i][next_id] = ("file", sent_at)
        await ws.send(_request(next_id, "files.commit", args))

    async def fire(i: int, kind: str) -> None:
        nonlocal next_id
        ws = conns[i]
        if ws is None:
            return
        next_id += 1
        rid = next_id
        c = clients[i]
        if kind == "timeline":
            frame: str | bytes = _request(rid, "timeline.home", {"limit": 20})
        elif kind == "post":
            frame = _request(
                rid, "post.create", {"text": f"load test post {rid}", "client_id": f"{tag}-p{rid}"}
            )
        elif kind == "chat":
            frame = _request(
                rid,
                "chat.send",
                {"to": c["group"], "text": f"load {rid}", "client_id": f"{tag}-c{rid}"},
            )
        else:  # a small new file: its block first
            payload = f"{tag} {rid} ".encode().ljust(1024, b".")
            frame = encode_block_frame(
                PUT, rid, hashlib.sha256(payload).digest(), Codec.RAW, payload
            )
            kind = "block"
        pending[i][rid] = (kind, time.monotonic())
        try:
            await ws.send(frame)
        except ConnectionClosed:
            pending[i].pop(rid, None)
            error(f"{kind} not sent")

    slots = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def open_client(i: int) -> None:
        async with slots:
            try:
                ws = await open_one(uri, clients[i].get("token") or None, 60)
            except Exception:
                error("connect failed")
                return
        conns[i] = ws
        readers.append(asyncio.create_task(reader(i, ws)))

    readers: list[asyncio.Task[None]] = []
    await asyncio.gather(*(open_client(i) for i in range(len(clients))))
    cpu_start = time.process_time()
    # One schedule for the whole process (a heap of next send times), not a task per client.
    interval = len(clients) / rate
    kinds, weights = list(MIX), list(MIX.values())
    heap = [(start_at + random.uniform(0, interval), i) for i in range(len(clients))]
    heapq.heapify(heap)
    while heap and heap[0][0] < end:
        due, i = heapq.heappop(heap)
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await fire(i, random.choices(kinds, weights)[0])
        heapq.heappush(heap, (due + interval, i))
    await asyncio.sleep(max(0.0, end + DRAIN_SECONDS - time.monotonic()))
    for mine in pending:
        for kind, _ in mine.values():
            error(f"{kind} unanswered")
    cpu = time.process_time() - cpu_start
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in conns if ws is not None), return_exceptions=True)
    return {
        "by_second": by_second,
        "events_by_second": events_by_second,
        "ok": ok,
        "errors": errors,
        "events": events,
        "cpu": cpu,
    }


def _request(request_id: int, op: str, args: dict[str, object]) -> str:
    return msgspec.json.encode({"id": request_id, "op": op, "args": args}).decode()


# ---------------------------------------------------------------------------------- set-up
async def set_up_roost(
    uri: str, users: int
) -> tuple[list[dict[str, str]], str, list[tuple[str, str]]]:
    """Users in groups of 10 with follows and home namespaces, and the slow consumer's user
    (in every group, following everyone) and the feeders of its busy feed. Returns each user's
    client spec, the slow consumer's token and its feeders."""
    print(f"registering {users} users ...", file=sys.stderr, flush=True)
    specs = await roost_clients(uri, users, 10)
    slow_ws = await open_one(uri, None, 60)
    async with slow_ws:
        reply = await request(
            slow_ws,
            1,
            "auth.register",
            {"username": SLOW_USER, "password": "slow password", "device_name": "slow"},
            timeout=120,
        )
    slow_token = str(reply["result"]["token"])  # type: ignore[index]
    feeders: list[tuple[str, str]] = []  # (token, its group with the slow consumer's user)
    for k in range(FEEDERS):
        async with await open_one(uri, None, 60) as ws:
            answer = await _ok(
                ws,
                1,
                "auth.register",
                {"username": f"feeder{k}", "password": "feed password", "device_name": "f"},
            )
        token = str(answer["token"])
        async with await open_one(uri, token, 60) as ws:
            group = await _ok(
                ws, 1, "chat.group.create", {"name": f"feed{k}", "members": [SLOW_USER]}
            )
        feeders.append((token, str(group["id"])))
    slots = asyncio.Semaphore(8)

    async def prepare(i: int) -> None:
        async with slots, await open_one(uri, specs[i]["token"], 60) as ws:
            rid = 0
            for k in range(1, min(FOLLOWS, users - 1) + 1):
                rid += 1
                await _ok(ws, rid, "follow.add", {"username": f"bench{(i + k) % users}"})
            if i % 10 == 0:  # the group's creator adds the slow consumer
                await _ok(
                    ws,
                    rid + 1,
                    "chat.group.add",
                    {"conversation": specs[i]["group"], "username": SLOW_USER},
                )
            reply = await _ok(ws, rid + 2, "files.namespaces", {})
            homes = [n for n in reply["namespaces"] if n["kind"] == "home"]  # type: ignore[index, union-attr]
            specs[i]["namespace"] = str(homes[0]["id"])

    print("following, joining groups ...", file=sys.stderr, flush=True)
    await asyncio.gather(*(prepare(i) for i in range(users)))
    async with await open_one(uri, slow_token, 60) as ws:
        for i in range(users):
            await _ok(ws, i + 1, "follow.add", {"username": f"bench{i}"})
    return specs, slow_token, feeders


async def _ok(
    ws: ClientConnection, rid: int, op: str, args: dict[str, object]
) -> dict[str, object]:
    reply = await request(ws, rid, op, args, timeout=120)
    if not reply.get("ok"):
        raise RuntimeError(f"{op} failed during set-up: {reply}")
    return reply["result"]  # type: ignore[return-value]


# ---------------------------------------------------------------------------------- one run
async def slow_consumer(uri: str, token: str, at: float, until: float) -> str:
    """Connect at `at` with a tiny receive buffer and never read; say how the connection ended."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    ws = await stalled_connection(uri, token)
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    ws.transport.resume_reading()
    try:
        async with asyncio.timeout(10):
            await _drain(ws)
    except TimeoutError:
        await ws.close()
        return "still open"
    return f"closed by the server, code {ws.close_code}"


async def stalled_connection(uri: str, token: str) -> ClientConnection:
    """A connection with a tiny receive buffer that has stopped reading: the server's frames
    to it pile up."""
    host, port = uri.removeprefix("ws://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: sets the window
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    ws = await connect(
        uri,
        sock=sock,
        additional_headers=bearer(token),
        compression=None,
        max_queue=1,
        ping_interval=None,
    )
    ws.transport.pause_reading()
    return ws


class DropWatch:
    """The server's count of connections it dropped as too far behind, as the run's
    once-a-second `/metrics` scrape last saw it."""

    def __init__(self) -> None:
        self.count = 0.0
        self._changed = asyncio.Event()

    def update(self, count: float) -> None:
        if count != self.count:
            self.count = count
            self._changed.set()

    async def above(self, before: float, deadline: float) -> bool:
        """Wait until the count passes `before` (True) or the deadline passes (False)."""
        while self.count <= before:
            self._changed.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._changed.wait()
            except TimeoutError:
                return self.count > before
        return True


async def slow_consumer_cycles(
    uri: str,
    token: str,
    start_at: float,
    first: float,
    until: float,
    cycle: float,
    drops: DropWatch,
    control: bool,
) -> list[Spell]:
    """`--cycle`: at the start of every cycle from `first` on, a new stalled connection of the
    slow consumer's user, closed once the server has dropped it (or 1 s before the cycle ends).
    With `control`, every other cycle a connection of the same user that reads everything
    instead, open as long as the last stalled one was: what a connection of a user who is sent
    most events costs the others, stalled or not."""
    spells: list[Spell] = []
    at, k, held = first, 0, 15.0
    while at + cycle <= until:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        if control and k % 2:
            ws = await open_one(uri, token, 60)
            joined = time.monotonic()
            drain = asyncio.create_task(_drain(ws))
            await asyncio.sleep(min(held, at + cycle - 1.0 - time.monotonic()))
            await ws.close()
            await drain
            spells.append(Spell(joined - start_at, time.monotonic() - start_at, reading=True))
        else:
            before = drops.count
            ws = await stalled_connection(uri, token)
            joined = time.monotonic()
            dropped = await drops.above(before, at + cycle - 1.0)
            ws.transport.abort()
            gone = time.monotonic()
            held = gone - joined
            spells.append(Spell(joined - start_at, gone - start_at, False, dropped))
        at, k = at + cycle, k + 1
    return spells


async def _drain(ws: ClientConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for _ in ws:
            pass


async def busy_feed(uri: str, feeders: list[tuple[str, str]], rate: float, until: float) -> None:
    """The slow consumer's busy feed: feeder users (each in a group with the slow consumer's
    user, one connection each) send it long messages. It runs through both halves, so only the
    slow consumer differs between them. A connection's requests are answered one at a time, so
    each feeder waits for its reply before its next send (it slows down rather than piles up);
    many feeders keep the rate up when replies are slow."""

    async def one(k: int, token: str, group: str) -> None:
        async with await open_one(uri, token, 60) as ws:
            n, next_at = 0, time.monotonic() + k / rate
            while next_at < until:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                n += 1
                await request(ws, n, "chat.send", {"to": group, "text": BUSY_TEXT}, timeout=60)
                next_at += len(feeders) / rate

    await asyncio.gather(*(one(k, token, group) for k, (token, group) in enumerate(feeders)))


def metric(uri: str, name: str) -> float | None:
    return metrics(uri).get(name)


def metrics(uri: str) -> dict[str, float]:
    """The server's /metrics samples without labels, by name."""
    url = uri.replace("ws://", "http://") + "/metrics"
    with urllib.request.urlopen(url, timeout=10) as page:
        lines = page.read().decode().splitlines()
    return {
        name: float(value)
        for name, _, value in (line.partition(" ") for line in lines)
        if value and not name.startswith("#") and "{" not in name
    }


async def run_load(
    server: str,
    pid: int,
    uri: str,
    users: list[dict[str, str]],
    slow_token: str | None,
    feeders: list[tuple[str, str]],
    args: argparse.Namespace,
    cpus: Cpus | None = None,
    slow_consumer_joins: bool = True,
) -> Run:
    import psutil

    clients = [users[i % len(users)] for i in range(args.clients)]
    start_at = time.monotonic() + 5.0 + args.clients / 300  # every worker connected by then
    procs = []
    for w in range(args.workers):
        share = clients[w :: args.workers]
        spec = {
            "uri": uri,
            "clients": share,
            "rate": args.rate * len(share) / len(clients),
            "start_at": start_at,
            "duration": args.duration,
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
        if cpus is not None:
            pin_process(proc.pid, cpus.clients)
        procs.append(proc)
    end = start_at + args.duration
    drops = DropWatch()
    slow = cycles = None
    if slow_token and slow_consumer_joins and args.cycle:
        cycles = asyncio.create_task(
            slow_consumer_cycles(
                uri,
                slow_token,
                start_at,
                start_at + args.warmup,
                end,
                args.cycle,
                drops,
                args.cycle_control,
            )
        )
    elif slow_token and slow_consumer_joins:
        slow = asyncio.create_task(
            slow_consumer(uri, slow_token, start_at + args.duration / 2, end)
        )
    feed = (
        asyncio.create_task(busy_feed(uri, feeders, args.busy_rate, end))
        if feeders and args.busy_rate
        else None
    )
    process = psutil.Process(pid)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    cpu_start = sum(process.cpu_times()[:2])
    server_core = min(cpus.server) if cpus is not None else None
    machine_start = _machine_busy()
    core_start = _core_busy(server_core)
    samples: list[tuple[float, float]] = []  # (seconds since start, RSS MiB)
    parts: dict[str, list[tuple[float, float]]] = {name: [] for name in MEMORY_PARTS}
    parts.update({f"{name} MiB": [] for name in memory_map.PARTS})
    # (server CPU seconds so far, machine busy CPU seconds so far, the server core's busy
    # seconds so far, RSS MiB, queued, dropped)
    per_second: list[tuple[float, float, float, float, float, float]] = []
    queued_peak = 0.0
    post_cache = post_cache_capacity(args.serve_arg) if server == "roost" else 0
    full_at = math.nan
    cached = 0.0
    while time.monotonic() < end:
        rss = process.memory_info().rss / 2**20
        samples.append((time.monotonic() - start_at, rss))
        if len(samples) % MAP_EVERY == 1 and sys.platform.startswith("linux"):
            for name, mib in memory_map.memory_split(pid).items():
                parts[f"{name} MiB"].append((samples[-1][0], mib))
        queued = dropped_so_far = 0.0
        if server == "roost":
            page = await asyncio.to_thread(metrics, uri)
            queued = page.get("roost_send_queue_frames", 0.0)
            dropped_so_far = page.get("roost_slow_consumers_dropped_total", 0.0)
            drops.update(dropped_so_far)
            queued_peak = max(queued_peak, queued)
            cached = page.get("roost_cached_posts", 0.0)
            for name, (sample, unit) in MEMORY_PARTS.items():
                if sample in page:
                    parts[name].append((samples[-1][0], page[sample] / unit))
            if math.isnan(full_at) and cached >= post_cache:
                full_at = samples[-1][0]
        per_second.append(
            (
                sum(process.cpu_times()[:2]),
                _machine_busy(),
                _core_busy(server_core),
                rss,
                queued,
                dropped_so_far,
            )
        )
        await asyncio.sleep(max(0.0, start_at + len(samples) - time.monotonic()))
    if feed is not None:
        await feed
    cpu = (sum(process.cpu_times()[:2]) - cpu_start) / args.duration
    results = []
    for proc in procs:
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a worker failed with {proc.returncode}")
        results.append(json.loads(out))
    run = Run(server, args.clients, args.duration, args.rate, server_cpu=cpu)
    run.queued_peak = int(queued_peak)
    run.pinned = cpus.describe() if cpus is not None else ""
    by_second = merged_by_second(results)
    half = args.duration / 2
    for kind in KINDS:
        first_half = pooled(by_second, [kind], None, args.warmup, half)
        second_half = pooled(by_second, [kind], None, half, args.duration)
        run.kinds[kind] = KindStats(
            sum(r["ok"][kind] for r in results),
            percentile(first_half, 0.50) * 1000,
            percentile(first_half, 0.99) * 1000,
            percentile(second_half, 0.50) * 1000,
            percentile(second_half, 0.99) * 1000,
        )
    if cycles is not None:
        run.spells = await cycles
        summarize_cycles(run, by_second, args.warmup, args.duration, args.cycle)
    run.ops_per_s = sum(s.ops for s in run.kinds.values()) / args.duration
    for r in results:
        for kind, n in r["errors"].items():
            run.error_kinds[kind] = run.error_kinds.get(kind, 0) + n
    run.errors = sum(run.error_kinds.values())
    run.events = sum(r["events"] for r in results)
    for second, (cpu_now, busy_now, core_now, rss, queued, dropped_so_far) in enumerate(per_second):
        values = [v for k in KINDS for v in by_second[k].get(second, [])]
        received = sum(r["events_by_second"].get(str(second), 0) for r in results)
        cpu_then = per_second[second - 1][0] if second else cpu_start
        busy_then = per_second[second - 1][1] if second else machine_start
        core_then = per_second[second - 1][2] if second else core_start
        run.series.append(
            (
                second,
                len(values),
                percentile(values, 0.50) * 1000 if values else math.nan,
                percentile(values, 0.99) * 1000 if values else math.nan,
                max(values) * 1000 if values else math.nan,
                received,
                cpu_now - cpu_then,
                busy_now - busy_then,
                core_now - core_then,
                rss,
                int(queued),
                int(dropped_so_far),
            )
        )
    run.post_cache, run.cached_posts, run.post_cache_full_at = post_cache, int(cached), full_at
    steady = [(t, m) for t, m in samples if t >= args.warmup]
    if len(steady) >= 2:
        run.rss_first_mib, run.rss_last_mib = steady[0][1], steady[-1][1]
        warm = [(t, m) for t, m in steady if not t < full_at]  # all of them when never full
        if len(warm) < 2:
            warm = steady[-2:]
        if not math.isnan(full_at):
            run.rss_full_mib = warm[0][1]
        run.rss_windows = _slope_windows(warm, args.rss_window or args.duration)
        run.rss_slope_mib_per_min = run.rss_windows[-1][2]
        for name, points in parts.items():
            since_full = [(t, v) for t, v in points if t >= warm[0][0]]
            if len(since_full) >= 2:
                windows = _slope_windows(since_full, args.rss_window or args.duration)
                run.part_windows[name] = [slope for _, _, slope in windows]
    if slow is not None:
        run.slow_consumer = await slow
        dropped = metric(uri, "roost_slow_consumers_dropped_total")
        run.dropped = int(dropped or 0)
        run.slow_consumer += (
            f"; server counted {dropped:.0f} dropped" if dropped is not None else ""
        )
    return run


# ------------------------------------------------------------------- --cycle: one run, both sides
def merged_by_second(results: list[dict[str, Any]]) -> dict[str, dict[int, list[float]]]:
    """The workers' latencies by kind and second, together."""
    merged: dict[str, dict[int, list[float]]] = {k: {} for k in KINDS}
    for r in results:
        for kind, seconds in r["by_second"].items():
            for second, values in seconds.items():
                merged[kind].setdefault(int(second), []).extend(values)
    return merged


def summarize_cycles(
    run: Run,
    by_second: dict[str, dict[int, list[float]]],
    warmup: float,
    duration: float,
    cycle: float,
) -> None:
    """--cycle: latencies by kind while a stalled connection was open ("with") and while no
    connection of that user was ("without"), and while a reading one was (the control)."""
    stalled = spell_seconds([s for s in run.spells if not s.reading])
    reading = spell_seconds([s for s in run.spells if s.reading])
    busy = stalled | reading
    for kind in KINDS:
        with_ = pooled(by_second, [kind], stalled, warmup, duration)
        without = pooled(by_second, [kind], None, warmup, duration, busy)
        run.kinds[kind] = KindStats(
            run.kinds[kind].ops,
            percentile(without, 0.50) * 1000,
            percentile(without, 0.99) * 1000,
            percentile(with_, 0.50) * 1000,
            percentile(with_, 0.99) * 1000,
        )
        if reading:
            control = pooled(by_second, [kind], reading, warmup, duration)
            run.reading_kinds[kind] = (
                percentile(control, 0.50) * 1000,
                percentile(control, 0.99) * 1000,
            )
    run.cycle_ratios = cycle_ratios(by_second, stalled, busy, warmup, duration, cycle)
    run.reading_ratios = cycle_ratios(by_second, reading, busy, warmup, duration, cycle)
    dropped = [s.gone - s.joined for s in run.spells if s.dropped]
    run.dropped = len(dropped)
    run.slow_consumer = (
        f"{sum(1 for s in run.spells if not s.reading)} stalled"
        f" connections, one every {cycle * (2 if reading else 1):.0f} s; the server dropped"
        f" {len(dropped)} of them"
        + (f", {statistics.median(dropped):.0f} s after joining (median)" if dropped else "")
    )


def spell_seconds(spells: list[Spell]) -> set[int]:
    """The seconds of the run in which one of these connections was open, and the second
    after each went (the server's clean-up of it)."""
    return {s for spell in spells for s in range(int(spell.joined), int(spell.gone) + 2)}


def pooled(
    by_second: dict[str, dict[int, list[float]]],
    kinds: Iterable[str],
    within: set[int] | None,
    start: float,
    end: float,
    outside: Set[int] = frozenset(),
) -> list[float]:
    """The latencies of `kinds` sent in the seconds [start, end) that are in `within` (all,
    if None) and not in `outside`."""
    return [
        v
        for kind in kinds
        for second, values in by_second[kind].items()
        if start <= second < end and (within is None or second in within) and second not in outside
        for v in values
    ]


def cycle_ratios(
    by_second: dict[str, dict[int, list[float]]],
    spell: set[int],
    busy: set[int],
    warmup: float,
    duration: float,
    cycle: float,
) -> list[float]:
    """For each cycle with a `spell` second: the p99 (all kinds) of its `spell` seconds over
    that of its seconds with no connection of that user open. Neighbours in time, so a
    machine that slows down over the run weighs on both sides alike."""
    ratios = []
    start = warmup
    while start < duration:
        end = start + cycle
        with_ = pooled(by_second, KINDS, spell, start, end)
        without = pooled(by_second, KINDS, None, start, end, busy)
        if with_ and without:
            ratios.append(percentile(with_, 0.99) / percentile(without, 0.99))
        start = end
    return ratios


def post_cache_capacity(serve_args: list[str]) -> int:
    """The server's --post-cache, from the arguments this benchmark passes to `roost serve`."""
    value = str(HOT_POSTS)
    for k, arg in enumerate(serve_args):
        if arg.startswith("--post-cache="):
            value = arg.partition("=")[2]
        elif arg == "--post-cache" and k + 1 < len(serve_args):
            value = serve_args[k + 1]
    return int(value)


def _machine_busy() -> float:
    import psutil

    return _busy(psutil.cpu_times())


def _core_busy(cpu: int | None) -> float:
    """Busy CPU seconds of one core so far (NaN when the server is not pinned to one)."""
    import psutil

    if cpu is None:
        return math.nan
    return _busy(psutil.cpu_times(percpu=True)[cpu])


def _busy(times: Any) -> float:
    """CPU seconds spent on anything but idling or waiting for I/O."""
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


MAP_EVERY = 10  # seconds between two reads of the server's memory map (memory_map.py)
# What /metrics says the server's memory holds: name -> (sample, the unit it is shown in)
MEMORY_PARTS = {
    "SQLite MiB": ("roost_sqlite_memory_bytes", 2**20),
    "C heap in use MiB": ("roost_malloc_in_use_bytes", 2**20),
    "Python blocks k": ("roost_python_allocated_blocks", 1000),
    "packed-block index k entries": ("roost_block_index_entries", 1000),
}


def _slope_windows(
    samples: list[tuple[float, float]], window: float
) -> list[tuple[float, float, float]]:
    """The slope (per minute) of each `window` seconds of (seconds, value) samples, counted
    back from the last one, so the last window always ends at the end of the run: (from s,
    to s, slope)."""
    end = samples[-1][0]
    windows = []
    while True:
        start = end - window
        points = [(t, m) for t, m in samples if start <= t <= end]
        if len(points) < 2:
            break
        windows.append((points[0][0], points[-1][0], _slope(points) * 60))
        if points[0] == samples[0]:
            break
        end = start
    return windows[::-1]


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def print_run(run: Run) -> None:
    print(
        f"\n{run.server}: {run.clients} clients, {run.duration:.0f} s, offered {run.offered:.0f}/s,"
        f" answered {run.ops_per_s:.0f} ops/s, errors {run.errors} {run.error_kinds or ''},"
        f" events received {run.events}, server CPU {run.server_cpu:.2f} cores"
        + (f"; {run.pinned}" if run.pinned else "")
    )
    control = run.server == "roost" and run.slow_consumer == "-"
    first, second = ("first half", "second half") if control else ("without slow", "with slow")
    if run.spells:
        first, second = ("none stalled", "one stalled")
    print(
        f"  {'kind':<9} {'ops':>7}  {'p50 / p99 ms ' + first:>27}  {'p50 / p99 ms ' + second:>24}"
    )
    for kind, s in run.kinds.items():
        print(
            f"  {kind:<9} {s.ops:>7}  {s.p50_without_ms:>12.1f} / {s.p99_without_ms:>7.1f}"
            f"    {s.p50_with_ms:>12.1f} / {s.p99_with_ms:>7.1f}"
        )
    if run.reading_kinds:
        print(
            "  while a reading connection of the same user was open instead (the control),"
            " p50 / p99 ms: "
            + ", ".join(f"{k} {p50:.1f} / {p99:.1f}" for k, (p50, p99) in run.reading_kinds.items())
        )
    for label, r in (("stalled", run.cycle_ratios), ("reading", run.reading_ratios)):
        if r:
            print(
                f"  per cycle, p99 (all kinds) while the {label} connection was open / with none"
                f" open: {_ratios(r)} -> median {statistics.median(r):.2f}x, above 1.0 in"
                f" {sum(1 for v in r if v > 1.0)} of {len(r)}"
            )
    since = "after warm-up"
    if run.post_cache and math.isnan(run.post_cache_full_at):
        since += (
            f" (the post cache still filling: {run.cached_posts:,} of {run.post_cache:,} posts"
            " at the end)"
        )
    elif run.post_cache:
        since += (
            f"; post cache full ({run.post_cache:,} posts) at {run.post_cache_full_at:.0f} s,"
            f" RSS then {run.rss_full_mib:.1f} MiB, slope from then on"
        )
    print(
        f"  server RSS {since}: first {run.rss_first_mib:.1f} MiB, last"
        f" {run.rss_last_mib:.1f} MiB, slope {run.rss_slope_mib_per_min:+.2f} MiB/min"
        + (" over the last window" if len(run.rss_windows) > 1 else "")
    )
    if len(run.rss_windows) > 1:
        print(
            "  RSS slope by window: "
            + ", ".join(f"{a:.0f}-{b:.0f} s {slope:+.2f}" for a, b, slope in run.rss_windows)
            + " MiB/min"
        )
    if run.part_windows:
        print("  in the same windows, per minute (the server's /metrics, then its memory map):")
        for name, slopes in run.part_windows.items():
            print(f"    {name:<30} " + ", ".join(f"{slope:+.2f}" for slope in slopes))
    if run.server == "roost":
        print(
            f"  slow consumer: {'left out (a control)' if control else run.slow_consumer};"
            f" server send queues peaked at {run.queued_peak} frames (all connections,"
            " sampled each second)"
        )


def print_series(run: Run) -> None:
    joins = "no slow consumer" if run.slow_consumer == "-" else "the slow consumer joins at"
    when = "" if run.slow_consumer == "-" else f" {run.duration / 2:.0f} s"
    if run.spells:
        joins, when = "*: a stalled connection open, r: a reading one", ""
    stalled = spell_seconds([s for s in run.spells if not s.reading])
    reading = spell_seconds([s for s in run.spells if s.reading])
    print(f"\n{run.server}, each second ({joins}{when}):")
    print(
        "  second  requests  p50 ms  p99 ms  max ms  events  server CPU  machine CPU"
        + ("  its core" if run.pinned else "")
        + "  RSS MiB  queued frames"
    )
    dropped_before = 0
    for second, n, p50, p99, most, events, cpu, busy, core, rss, queued, dropped in run.series:
        print(
            f"{'*' if second in stalled else 'r' if second in reading else ' '}"
            f" {second:>6}  {n:>8}  {p50:>6.1f}  {p99:>6.1f}"
            f"  {most:>6.1f}  {events:>6}"
            f"  {cpu:>10.2f}  {busy:>11.2f}"
            + (f"  {core:>8.2f}" if run.pinned else "")
            + f"  {rss:>7.1f}  {queued:>13}"
            + ("  <- slow consumer dropped" if dropped > dropped_before else "")
        )
        dropped_before = dropped


async def roost_run(args: argparse.Namespace, cpus: Cpus | None, slow_consumer_joins: bool) -> Run:
    """One run on a fresh Roost server (its own data folder), printed as it ends."""
    workdir = Path(tempfile.mkdtemp(prefix="roost-bench-load-"))
    try:
        argv = roost_argv(workdir / "data") + args.serve_arg
        async with server_process("roost", argv, workdir) as roost:
            users, slow_token, feeders = await set_up_roost(roost.uri, args.users)
            if cpus is not None:  # after the set-up, which ran on the clients' CPUs (inherited)
                pin_process(roost.proc.pid, cpus.server)
            print(f"running {args.clients} clients for {args.duration:.0f} s ...", file=sys.stderr)
            run = await run_load(
                "roost",
                roost.proc.pid,
                roost.uri,
                users,
                slow_token,
                feeders,
                args,
                cpus,
                slow_consumer_joins,
            )
            print_run(run)
            if args.series:
                print_series(run)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return run


async def main(args: argparse.Namespace) -> int:
    cpus = plan_cpus(args.pin)
    if cpus is not None:  # this process and the workers it starts: off the server's core
        pin_process(os.getpid(), cpus.clients)
        print(f"pinned: {cpus.describe()}", file=sys.stderr)
    if args.pairs and args.cycle:
        sys.exit("--cycle compares within one run: use it without --pairs")
    if args.pairs:
        return await main_pairs(args, cpus)
    if args.cycle and args.no_slow_consumer:
        sys.exit("--cycle needs the slow consumer")
    runs = [await roost_run(args, cpus, not args.no_slow_consumer)]
    if args.roost_only:
        return 0 if runs[0].errors == 0 else 1
    workdir = Path(tempfile.mkdtemp(prefix="roost-bench-load-"))
    try:
        bare_argv = [sys.executable, str(Path(__file__).resolve()), "--bare-server"]
        async with server_process("bare", bare_argv, workdir) as bare:
            if cpus is not None:
                pin_process(bare.proc.pid, cpus.server)
            fake = [{"group": "g", "namespace": "1"} for _ in range(args.users)]
            runs.append(
                await run_load("bare", bare.proc.pid, bare.uri, fake, None, [], args, cpus, False)
            )
            print_run(runs[-1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    roost, bare = runs
    print("\nratio Roost / bare (latency: how much more than the transport alone):")
    print(
        f"  ops/s {roost.ops_per_s / bare.ops_per_s:.2f}x;"
        f" server CPU {roost.server_cpu / bare.server_cpu:.1f}x"
    )
    for kind in KINDS:
        r, b = roost.kinds[kind], bare.kinds[kind]
        print(
            f"  {kind:<9} p50 {r.p50_without_ms / b.p50_without_ms:5.1f}x,"
            f" p99 {r.p99_without_ms / b.p99_without_ms:5.1f}x (without the slow consumer);"
            f" Roost p99 with / without it {r.p99_with_ms / r.p99_without_ms:.2f}x"
        )
    dropped = roost.dropped >= 1 or "code 4008" in roost.slow_consumer
    print(
        f"\nerrors: {roost.errors} (must be 0); slow consumer disconnected:"
        f" {'yes' if dropped else 'no'}; RSS slope {roost.rss_slope_mib_per_min:+.2f} MiB/min"
    )
    if args.json:
        print(json.dumps([asdict(r) for r in runs], indent=2))
    return 0 if roost.errors == 0 else 1


async def main_pairs(args: argparse.Namespace, cpus: Cpus | None) -> int:
    """`--pairs N`: N runs with the slow consumer and N controls without it, alternating (the
    order swapped every pair), each on a fresh server; the controls are the baseline here (no
    bare server)."""
    with_runs: list[Run] = []
    controls: list[Run] = []
    for k in range(args.pairs):
        for joins in (True, False) if k % 2 == 0 else (False, True):  # neither always first
            label = "with the slow consumer" if joins else "control, no slow consumer"
            print(f"\npair {k + 1} of {args.pairs}: {label}", file=sys.stderr, flush=True)
            (with_runs if joins else controls).append(await roost_run(args, cpus, joins))
    print_pairs(with_runs, controls)
    runs = with_runs + controls
    if args.json:
        print(json.dumps([asdict(r) for r in runs], indent=2))
    return 0 if all(r.errors == 0 for r in runs) else 1


def print_pairs(with_runs: list[Run], controls: list[Run]) -> None:
    n = len(with_runs)
    print(
        f"\n{n} runs with the slow consumer (it joins at {with_runs[0].duration / 2:.0f} s) and"
        f" {len(controls)} controls without it, alternating (the order swapped every pair),"
        " each on a fresh server" + (f"; {with_runs[0].pinned}" if with_runs[0].pinned else "")
    )
    print("Roost p99 second half / first half, run by run -> the median:")
    for kind in KINDS:
        w = [r.kinds[kind].p99_with_ms / r.kinds[kind].p99_without_ms for r in with_runs]
        c = [r.kinds[kind].p99_with_ms / r.kinds[kind].p99_without_ms for r in controls]
        print(
            f"  {kind:<9} with {_ratios(w)} -> {statistics.median(w):.2f}x;"
            f" control {_ratios(c)} -> {statistics.median(c):.2f}x;"
            f" with / control {statistics.median(w) / statistics.median(c):.2f}x"
        )
    print("p50 / p99 ms, first half -> second half, the median over the runs:")
    for kind in KINDS:
        print(f"  {kind:<9} with {_halves(with_runs, kind)};   control {_halves(controls, kind)}")
    dropped = sum(1 for r in with_runs if r.dropped >= 1 or "code 4008" in r.slow_consumer)
    print(
        f"errors: {sum(r.errors for r in with_runs + controls)} (must be 0); slow consumer"
        f" disconnected in {dropped} of {n}; RSS slope, median: with"
        f" {statistics.median(r.rss_slope_mib_per_min for r in with_runs):+.2f}, control"
        f" {statistics.median(r.rss_slope_mib_per_min for r in controls):+.2f} MiB/min"
    )


def _ratios(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _halves(runs: list[Run], kind: str) -> str:
    def med(name: str) -> float:
        return statistics.median(getattr(r.kinds[kind], name) for r in runs)

    return (
        f"{med('p50_without_ms'):.1f} / {med('p99_without_ms'):.1f} ->"
        f" {med('p50_with_ms'):.1f} / {med('p99_with_ms'):.1f}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=2000, help="connections (default 2000)")
    parser.add_argument("--users", type=int, default=200, help="users they belong to (default 200)")
    parser.add_argument("--rate", type=float, default=300.0, help="requests/s, all clients (300)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds left out of figures")
    parser.add_argument("--workers", type=int, default=4, help="client processes (default 4)")
    parser.add_argument(
        "--busy-rate",
        type=float,
        default=60.0,
        help="4,000-character messages/s to the slow consumer's own group (default 60)",
    )
    parser.add_argument(
        "--no-slow-consumer", action="store_true", help="leave the slow consumer out (a control)"
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=(os.cpu_count() or 1) >= 2,
        help="the server alone on the last CPU, the clients on the others"
        " (default: on with 2 or more CPUs)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="N runs with the slow consumer and N controls without it, alternating (the order"
        " swapped every pair), each on a fresh server; prints each run's p99 second half /"
        " first half and the medians"
        " (no bare server)",
    )
    parser.add_argument(
        "--cycle",
        type=float,
        default=0.0,
        help="instead of one slow consumer halfway: a new one every N seconds after the"
        " warm-up, each closed once the server drops it; compares the requests sent while one"
        " is open with the others of the same run, cycle by cycle",
    )
    parser.add_argument(
        "--cycle-control",
        action="store_true",
        help="with --cycle: every other cycle, a connection of the same user that reads, open"
        " as long as the last stalled one was (the control)",
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--series", action="store_true", help="print p50/p99, CPU, RSS, queues for each second"
    )
    parser.add_argument(
        "--rss-window",
        type=float,
        default=0.0,
        help="RSS slope over each N seconds after the warm-up, the run's from the last one"
        " (default: the whole run after the warm-up)",
    )
    parser.add_argument(
        "--roost-only", action="store_true", help="skip the bare server (a quick look)"
    )
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        help="an extra `roost serve` argument, repeatable (--serve-arg=--send-queue-bytes=1000000)",
    )
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
