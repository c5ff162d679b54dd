"""Home timelines at size: hybrid fan-out beside pure fan-out on read, in one run.

1. Seed a synthetic network through the storage layer (bench/social_seed.py): `--users`
   users (100,000), power-law follows (each user follows a Pareto-distributed number of
   accounts, mean about 9, chosen with a bias towards low ranks), plus fixed accounts: one
   celebrity with 50,000 followers, three more above the 10,000 threshold, and an author with
   exactly 1,000 followers; `--posts` posts (1,000,000) spread over a week, most by random
   users, a thousand by each celebrity. Posts by accounts over the threshold are not fanned
   out; the rest are in every follower's timeline, as fan-out on write leaves them. (The
   search index is not built: nothing here searches.)
2. Start a Roost server (a subprocess, default settings: hybrid fan-out) on that database and,
   over WebSocket connections, read the first page (20 posts) of `--readers` users' home
   timelines twice: the first read of each user finds the in-memory LRU cold, the second warm.
   Then time post acks: `--post-count` posts by the 1,000-follower author and a tenth as
   many by the 50,000-follower celebrity.
3. Stop it, start a server with `timeline_strategy="pull"` on the same database, and make the
   same reads: each answered by joining every followee's posts at read time (the baseline).

Reads are sequential (one request in flight), so each figure is one request's latency as a
client sees it. With `--engines sqlite,postgresql` the whole run is made on each engine (the
PostgreSQL one on a throw-away cluster this script starts, fsync on), one after the other.
Run from the repository root:

    python bench/timeline.py                          # the full size (seeding takes minutes)
    python bench/timeline.py --users 5000 --posts 50000 --readers 100   # a quick look
    python bench/timeline.py --data /tmp/roost-net    # seed once, reuse on later runs (each run
                                                      # adds its benchmark posts to it)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import social_seed

from client.connection import Connection
from client.outbox import new_client_id
from protocol import social as wire
from protocol.ids import EPOCH_MS, NODE_BITS, SEQUENCE_BITS
from server.accounts.auth import new_token
from server.social.fanout import DEFAULT_CELEBRITY_THRESHOLD, fans_out
from storage.database import Database, now_ms
from storage.postgres import PostgresDatabase
from storage.server.credentials import secret_hash
from storage.server.postgres_schema import server_migrations
from storage.server.schema import MIGRATIONS
from storage.sqlite import SqliteDatabase

LISTENING = re.compile(r"listening on ws://([0-9.]+):(\d+)")
WORDS = (
    "bees garden honey rain coffee train code tea walk night river bread music paint "
    "cat dog sun moon book chess bike city field stone wind"
).split()
TAGS = ["python", "roost", "gardening", "music", "news", "cats", "sqlite", "weekend"]
WEEK_MS = 7 * 24 * 3_600_000


@dataclass
class Network:
    users: int
    celebrity: int  # the 50,000-follower account
    author: int  # the 1,000-follower account
    readers: list[int]
    follows: int
    posts: int
    timeline_rows: int


# ------------------------------------------------------------------------------ seeding
async def seed(
    data_dir: Path, args: argparse.Namespace, db_url: str | None = None
) -> tuple[Network, dict[int, str]]:
    rng = random.Random(args.seed)
    db: Database
    if db_url is None:
        db = await SqliteDatabase(data_dir / "roost.db", MIGRATIONS, synchronous="OFF").open()
    else:
        db = await PostgresDatabase(db_url, server_migrations()).open()
    now = now_ms()
    n = args.users
    user_ids = [1_000 + i for i in range(n)]
    started = time.perf_counter()
    await social_seed.add_users(db, [(uid, f"user{i}") for i, uid in enumerate(user_ids)], now)

    # Fixed accounts: 0 the big celebrity, 1-3 over the threshold, 10 the 1,000-follower author.
    big = min(50_000, n - 1)
    fixed = {0: big, 1: min(20_000, n - 1), 2: min(15_000, n - 1), 3: min(12_000, n - 1)}
    fixed[10] = min(1_000, n - 1)
    pairs: set[tuple[int, int]] = set()
    for rank, followers in fixed.items():  # exactly this many followers each
        chosen = [f for f in rng.sample(range(n), followers + 1) if f != rank][:followers]
        pairs.update((f, rank) for f in chosen)
    regular_start = 20
    fixed_ranks = set(fixed)
    for follower in range(n):
        k = min(int(rng.paretovariate(1.5) * 3), 500)
        for _ in range(k):
            followee = regular_start + int((n - regular_start) * rng.random() ** 2)
            if followee != follower and followee not in fixed_ranks:
                pairs.add((follower, followee))
    await social_seed.add_follows(db, [(user_ids[a], user_ids[b]) for a, b in pairs], now)
    followers_of = dict.fromkeys(range(n), 0)
    for _, b in pairs:
        followers_of[b] += 1

    threshold = DEFAULT_CELEBRITY_THRESHOLD
    celebs = [r for r in range(n) if not fans_out(followers_of[r], threshold)]
    authors: list[int] = []
    for c in celebs:
        authors += [c] * min(1_000, args.posts // 100)
    authors += [10] * min(500, args.posts // 100)
    authors += [rng.randrange(n) for _ in range(args.posts - len(authors))]
    rng.shuffle(authors)
    start_ms = now - WEEK_MS
    step = max(1, WEEK_MS // max(1, args.posts))
    rows = []
    for i, rank in enumerate(authors):
        created = start_ms + i * step
        post_id = ((created - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS)) | (i & 0xFFF)
        words = rng.sample(WORDS, 6)
        if rng.random() < 0.2:
            words.append("#" + rng.choice(TAGS))
        fanned = fans_out(followers_of[rank], threshold)
        rows.append((post_id, user_ids[rank], " ".join(words), created, fanned))
    await social_seed.add_posts(db, rows)
    del rows
    await social_seed.finish_posts(db)

    # Readers: users who follow at least one account, a third of them following a celebrity.
    following: dict[int, int] = {}
    for a, _ in pairs:
        following[a] = following.get(a, 0) + 1
    candidates = [u for u in range(n) if following.get(u) and u not in fixed_ranks]
    readers = rng.sample(candidates, min(args.readers, len(candidates)))
    tokens: dict[int, str] = {}
    devices = []
    for i, rank in enumerate([*readers, 0, 10]):
        token = new_token()
        tokens[user_ids[rank]] = token
        devices.append((10_000_000 + i, user_ids[rank], secret_hash(token)))
    await social_seed.add_devices(db, devices, now)
    network = Network(
        users=n,
        celebrity=user_ids[0],
        author=user_ids[10],
        readers=[user_ids[r] for r in readers],
        follows=await social_seed.count(db, "follows"),
        posts=await social_seed.count(db, "posts"),
        timeline_rows=await social_seed.count(db, "timeline"),
    )
    await db.close()
    print(
        f"seeded {n:,} users, {network.follows:,} follows, {network.posts:,} posts,"
        f" {network.timeline_rows:,} timeline rows; over the threshold: {len(celebs)} accounts"
        f" (largest {followers_of[0]:,} followers) in {time.perf_counter() - started:.0f}s",
        flush=True,
    )
    return network, tokens


# ------------------------------------------------------------------------------ server
class ServerProcess:
    def __init__(self, data_dir: Path, strategy: str, db_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.strategy = strategy
        self.db_url = db_url
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(self.data_dir),
                "--strategy",
                self.strategy,
                *(("--db", self.db_url) if self.db_url else ()),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("server exited during start-up")
            if m := LISTENING.search(line):
                self.url = f"ws://{m[1]}:{m[2]}"
                return self
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=60)


def serve(data_dir: Path, strategy: str, db_url: str | None) -> None:
    import logging

    from server.app import run
    from server.config import Limits, ServerConfig

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # every reader connects from one address: no per-address cap
    limits = Limits(ops_per_second=1e6, ops_burst=1_000_000, connections_per_address=0)
    config = ServerConfig(
        registration="open",
        data_dir=data_dir,
        database_url=db_url,
        port=0,
        timeline_strategy=strategy,
        limits=limits,
    )
    asyncio.run(run(config))


# ------------------------------------------------------------------------------ measuring
def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"p50": 0.0, "p99": 0.0, "n": 0}
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": statistics.median(ordered), "p99": p99, "n": len(ordered)}


async def read_timelines(url: str, network: Network, tokens: dict[int, str]) -> dict[str, object]:
    conns = {}
    for user in network.readers:
        conn = Connection(url, tokens[user], request_timeout=120)
        await conn.open()
        conns[user] = conn
    passes: list[list[float]] = []
    sizes = 0
    for _ in range(2):  # the first read of each user finds the LRU cold, the second warm
        times: list[float] = []
        for conn in conns.values():
            t0 = time.perf_counter()
            page: wire.Page = await conn.call("timeline.home", wire.HomeTimeline(limit=20))
            times.append((time.perf_counter() - t0) * 1000)
            sizes += len(page.posts)
        passes.append(times)
    for conn in conns.values():
        await conn.close()
    return {
        "cold": percentiles(passes[0]),
        "warm": percentiles(passes[1]),
        "all": percentiles(passes[0] + passes[1]),
        "mean_posts_per_page": sizes / max(1, 2 * len(conns)),
    }


async def post_latency(url: str, token: str, count: int) -> dict[str, float]:
    conn = Connection(url, token, request_timeout=120)
    await conn.open()
    times = []
    for i in range(count):
        t0 = time.perf_counter()
        args = wire.CreatePost(text=f"bench post {i} #bench", client_id=new_client_id())
        await conn.call("post.create", args)  # with an idempotency key, as clients send it
        times.append((time.perf_counter() - t0) * 1000)
    await conn.close()
    return percentiles(times)


def fmt(p: dict[str, float]) -> str:
    return f"p50 {p['p50']:7.2f} ms  p99 {p['p99']:7.2f} ms  (n={p['n']})"


async def seeded(args: argparse.Namespace) -> tuple[Path, Network, dict[int, str]]:
    """Seed a temporary folder, or reuse the one `--data` names (seeding it the first time)."""
    if args.data is None:
        tmp = Path(tempfile.mkdtemp(prefix="roost-bench-timeline-"))
        return (tmp, *await seed(tmp, args))
    saved = args.data / "bench-network.json"
    if saved.exists():
        state = json.loads(saved.read_text())
        network = Network(**state["network"])
        print(f"reusing the network seeded in {args.data}", flush=True)
        return args.data, network, {int(k): v for k, v in state["tokens"].items()}
    args.data.mkdir(parents=True, exist_ok=True)
    network, tokens = await seed(args.data, args)
    saved.write_text(json.dumps({"network": network.__dict__, "tokens": tokens}))
    return args.data, network, tokens


async def run_engine(args: argparse.Namespace, engine: str) -> dict[str, object]:
    """The whole run on one engine: seed, hybrid reads and post acks, pull reads."""
    cluster = None
    db_url = None
    if engine == "postgresql":
        from tests.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        db_url = cluster.url(cluster.create_database())
        tmp = Path(tempfile.mkdtemp(prefix="roost-bench-timeline-"))
        network, tokens = await seed(tmp, args, db_url)
    elif engine == "sqlite":
        tmp, network, tokens = await seeded(args)
    else:
        raise SystemExit(f"--engines: {engine}? (sqlite, postgresql)")
    try:
        with ServerProcess(tmp, "hybrid", db_url) as server:
            hybrid = await read_timelines(server.url, network, tokens)
            author = await post_latency(server.url, tokens[network.author], args.post_count)
            celeb = await post_latency(
                server.url, tokens[network.celebrity], max(1, args.post_count // 10)
            )
        with ServerProcess(tmp, "pull", db_url) as server:
            pull = await read_timelines(server.url, network, tokens)
    finally:
        if args.data is None or engine != "sqlite":
            shutil.rmtree(tmp, ignore_errors=True)
        if cluster is not None:
            cluster.stop()
    h, p = hybrid["all"], pull["all"]
    assert isinstance(h, dict) and isinstance(p, dict)
    return {
        "engine": engine,
        "network": network.__dict__ | {"readers": len(network.readers)},
        "home_hybrid": hybrid,
        "home_pull": pull,
        "post_1000_followers": author,
        "post_celebrity": celeb,
        "ratio_p50": p["p50"] / h["p50"],
        "ratio_p99": p["p99"] / h["p99"],
    }


async def main(args: argparse.Namespace) -> None:
    results = [await run_engine(args, engine) for engine in args.engines.split(",")]
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
        return
    for result in results:
        hybrid, pull = result["home_hybrid"], result["home_pull"]
        assert isinstance(hybrid, dict) and isinstance(pull, dict)
        print(f"--- {result['engine']}")
        print(f"home timeline, hybrid   cold LRU: {fmt(hybrid['cold'])}")
        print(f"home timeline, hybrid   warm LRU: {fmt(hybrid['warm'])}")
        print(f"home timeline, hybrid   all     : {fmt(hybrid['all'])}")
        print(f"home timeline, pull (baseline)  : {fmt(pull['all'])}")
        print(f"post ack, 1,000 followers       : {fmt(result['post_1000_followers'])}")  # type: ignore[arg-type]
        print(f"post ack, celebrity (50,000)     : {fmt(result['post_celebrity'])}")  # type: ignore[arg-type]
        print(
            f"baseline / hybrid: p50 {result['ratio_p50']:.1f}x, p99 {result['ratio_p99']:.1f}x"
            f"  (targets: hybrid p99 <= 5 ms, post ack p99 <= 50 ms at 1,000 followers)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--readers", type=int, default=500)
    parser.add_argument("--post-count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--data", type=Path, help="keep the seeded network here and reuse it on later runs"
    )
    parser.add_argument(
        "--engines", default="sqlite", help="sqlite, postgresql or both, comma-separated"
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--strategy", default="hybrid", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve is not None:
        serve(parsed.serve, parsed.strategy, parsed.db)
    else:
        asyncio.run(main(parsed))
