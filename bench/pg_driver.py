"""asyncpg beside psycopg 3 (async), in the same run, on the statement shapes Roost sends.

Both drivers talk to one PostgreSQL (a throwaway cluster from tests/postgres.py, fsync on, unless
`--url` names another) through a pool of 8 connections, with each driver's own statement
preparation (asyncpg prepares every statement; psycopg after 5 runs of the same text). Shapes:

  get    a one-row SELECT by primary key (a post by id)
  page   a 50-row page by an index, newest first (a user's posts before a cursor)
  write  one write transaction: 3 statements + COMMIT (a chat message: the conversation's
         seq, the message, its idempotency record)
  many   executemany of 100 rows in one transaction (a post fanned out to 100 timelines)

each with 1 and with 8 concurrent tasks. Every call is timed from asking the pool for a
connection to having the rows. The drivers take turns (`--rounds`, the order swapped each
round) so that whatever else the machine does falls on both.

    python bench/pg_driver.py
    python bench/pg_driver.py --rounds 4 --scale 2 --json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POOL_SIZE = 8
AUTHORS = 200
POSTS_PER_AUTHOR = 100
# Calls per shape and concurrency in one round (times --scale).
CALLS = {"get": 1500, "page": 1000, "write": 300, "many": 100}

SCHEMA = """
DROP TABLE IF EXISTS bench_posts, bench_conversations, bench_messages, bench_keys, bench_timeline;
CREATE TABLE bench_posts (
    id BIGINT PRIMARY KEY, author_id BIGINT NOT NULL, text TEXT NOT NULL,
    created_at BIGINT NOT NULL, like_count BIGINT NOT NULL DEFAULT 0);
CREATE INDEX bench_posts_by_author ON bench_posts (author_id, id);
CREATE TABLE bench_conversations (id BIGINT PRIMARY KEY, last_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE bench_messages (
    conversation_id BIGINT NOT NULL, seq BIGINT NOT NULL, sender_id BIGINT NOT NULL,
    text TEXT NOT NULL, sent_at BIGINT NOT NULL, PRIMARY KEY (conversation_id, seq));
CREATE TABLE bench_keys (
    user_id BIGINT NOT NULL, client_id TEXT NOT NULL, result BYTEA NOT NULL,
    PRIMARY KEY (user_id, client_id));
CREATE TABLE bench_timeline (
    user_id BIGINT NOT NULL, post_id BIGINT NOT NULL, author_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, post_id));
INSERT INTO bench_posts (id, author_id, text, created_at)
    SELECT a * 1000 + p, a, repeat('bees and gardens ', 6), a * 1000 + p
    FROM generate_series(1, {authors}) a, generate_series(1, {posts}) p;
INSERT INTO bench_conversations (id) SELECT generate_series(1, 64);
ANALYZE
"""

GET = "SELECT id, author_id, text, created_at, like_count FROM bench_posts WHERE id = {0}"
PAGE = (
    "SELECT id, author_id, text, created_at, like_count FROM bench_posts"
    " WHERE author_id = {0} AND id < {1} ORDER BY id DESC LIMIT 50"
)
NEXT_SEQ = (
    "UPDATE bench_conversations SET last_seq = last_seq + 1 WHERE id = {0} RETURNING last_seq"
)
ADD_MESSAGE = (
    "INSERT INTO bench_messages (conversation_id, seq, sender_id, text, sent_at)"
    " VALUES ({0}, {1}, {2}, {3}, {4})"
)
ADD_KEY = "INSERT INTO bench_keys (user_id, client_id, result) VALUES ({0}, {1}, {2})"
FAN_OUT = "INSERT INTO bench_timeline (user_id, post_id, author_id) VALUES ({0}, {1}, {2})"


def asyncpg_sql(template: str) -> str:
    return template.format(*(f"${i}" for i in range(1, 6)))


def psycopg_sql(template: str) -> str:
    return template.format(*(["%s"] * 5))


class Workload:
    """The arguments each call uses; counters shared by both drivers keep keys unique."""

    def __init__(self) -> None:
        self.keys = itertools.count(1)
        self.fanned = itertools.count(1)

    def post_id(self) -> int:
        return random.randint(1, AUTHORS) * 1000 + random.randint(1, POSTS_PER_AUTHOR)

    def page_args(self) -> tuple[int, int]:
        author = random.randint(1, AUTHORS)
        return author, author * 1000 + POSTS_PER_AUTHOR + 1

    def message(self, task: int) -> tuple[int, str, int]:
        # One conversation per task: the drivers are measured, not row-lock waits.
        return task + 1, f"key-{next(self.keys)}", time.time_ns() // 1_000_000

    def fan_out_rows(self) -> list[tuple[int, int, int]]:
        post = next(self.fanned)
        return [(user, post, 7) for user in range(1, 101)]


async def rollback_if_open(conn: Any) -> None:
    """A pool reset that costs nothing for a connection left idle: Roost sets no session state
    (no SET, LISTEN or held advisory lock), so only an open transaction needs undoing."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class AsyncpgDriver:
    """asyncpg as the engine would use it: its pool resets a returned connection only when a
    transaction is open."""

    name = "asyncpg"
    reset: Callable[[Any], Awaitable[None]] | None = staticmethod(rollback_if_open)

    def __init__(self, url: str, work: Workload) -> None:
        self.url, self.work = url, work

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(
            self.url, min_size=POOL_SIZE, max_size=POOL_SIZE, reset=self.reset
        )

    async def close(self) -> None:
        await self.pool.close()

    async def get(self, task: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.fetch(asyncpg_sql(GET), self.work.post_id())

    async def page(self, task: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.fetch(asyncpg_sql(PAGE), *self.work.page_args())

    async def write(self, task: int) -> None:
        conversation, key, now = self.work.message(task)
        async with self.pool.acquire() as conn, conn.transaction():
            seq = await conn.fetchval(asyncpg_sql(NEXT_SEQ), conversation)
            await conn.execute(asyncpg_sql(ADD_MESSAGE), conversation, seq, 7, "hello", now)
            await conn.execute(asyncpg_sql(ADD_KEY), 7, key, b'{"seq": 1}')

    async def many(self, task: int) -> None:
        rows = self.work.fan_out_rows()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(asyncpg_sql(FAN_OUT), rows)


class AsyncpgDefaultResetDriver(AsyncpgDriver):
    """asyncpg's pool as it comes: every connection returned runs a reset query (advisory
    unlock, CLOSE ALL, UNLISTEN, RESET ALL), one more round trip per call."""

    name = "asyncpg-reset"
    reset = None


class PsycopgDriver:
    name = "psycopg"

    def __init__(self, url: str, work: Workload) -> None:
        self.url, self.work = url, work

    async def open(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(
            self.url,
            min_size=POOL_SIZE,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True},
            open=False,
        )
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def get(self, task: int) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(psycopg_sql(GET), (self.work.post_id(),))
            await cur.fetchall()

    async def page(self, task: int) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(psycopg_sql(PAGE), self.work.page_args())
            await cur.fetchall()

    async def write(self, task: int) -> None:
        conversation, key, now = self.work.message(task)
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(psycopg_sql(NEXT_SEQ), (conversation,))
            row = await cur.fetchone()
            assert row is not None
            await conn.execute(psycopg_sql(ADD_MESSAGE), (conversation, row[0], 7, "hello", now))
            await conn.execute(psycopg_sql(ADD_KEY), (7, key, b'{"seq": 1}'))

    async def many(self, task: int) -> None:
        rows = self.work.fan_out_rows()
        async with self.pool.connection() as conn, conn.transaction():
            async with conn.cursor() as cur:
                await cur.executemany(psycopg_sql(FAN_OUT), rows)


async def timed_calls(
    call: Callable[[int], Awaitable[None]], calls: int, tasks: int
) -> list[float]:
    """`calls` calls spread over `tasks` concurrent tasks; each call's latency in ms."""
    samples: list[float] = []

    async def run(task: int, count: int) -> None:
        for _ in range(count):
            start = time.perf_counter()
            await call(task)
            samples.append((time.perf_counter() - start) * 1000)

    share = calls // tasks
    await asyncio.gather(*(run(t, share) for t in range(tasks)))
    return samples


async def measure(url: str, rounds: int, scale: float) -> dict[str, dict[str, list[float]]]:
    """samples[driver][f"{shape} x{tasks}"] over every round."""
    work = Workload()
    drivers = [
        AsyncpgDriver(url, work),
        PsycopgDriver(url, work),
        AsyncpgDefaultResetDriver(url, work),
    ]
    samples: dict[str, dict[str, list[float]]] = {d.name: {} for d in drivers}
    for driver in drivers:
        await driver.open()
    try:
        for driver in drivers:  # warm up: connections made, statements prepared
            for shape in CALLS:
                await timed_calls(getattr(driver, shape), 20, 1)
        for number in range(rounds):
            order = drivers if number % 2 == 0 else drivers[::-1]
            for tasks in (1, 8):
                for shape, calls in CALLS.items():
                    for driver in order:
                        got = await timed_calls(getattr(driver, shape), int(calls * scale), tasks)
                        samples[driver.name].setdefault(f"{shape} x{tasks}", []).extend(got)
    finally:
        for driver in drivers:
            await driver.close()
    return samples


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarise(samples: dict[str, dict[str, list[float]]]) -> list[dict[str, Any]]:
    rows = []
    for case in samples["asyncpg"]:
        row: dict[str, Any] = {"case": case, "calls": len(samples["asyncpg"][case])}
        for driver, by_case in samples.items():
            row[f"{driver}_p50"] = statistics.median(by_case[case])
            row[f"{driver}_p99"] = percentile(by_case[case], 0.99)
        row["p50_ratio"] = row["psycopg_p50"] / row["asyncpg_p50"]
        row["p99_ratio"] = row["psycopg_p99"] / row["asyncpg_p99"]
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| shape x tasks | calls | asyncpg p50 / p99 ms | psycopg p50 / p99 ms"
        " | psycopg / asyncpg p50, p99 | asyncpg, default pool reset, p50 / p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['calls']} | {r['asyncpg_p50']:.3f} / {r['asyncpg_p99']:.3f}"
            f" | {r['psycopg_p50']:.3f} / {r['psycopg_p99']:.3f}"
            f" | {r['p50_ratio']:.2f}x, {r['p99_ratio']:.2f}x"
            f" | {r['asyncpg-reset_p50']:.3f} / {r['asyncpg-reset_p99']:.3f} |"
        )
    return "\n".join(lines)


async def prepare(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SCHEMA.format(authors=AUTHORS, posts=POSTS_PER_AUTHOR))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="an empty database to use (default: a throwaway cluster)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="calls per round, times this")
    parser.add_argument("--json", action="store_true", dest="as_json")
    args = parser.parse_args()

    cluster = None
    url = args.url
    if url is None:
        from tests.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        url = cluster.url(cluster.create_database())
    try:
        asyncio.run(prepare(url))
        rows = summarise(asyncio.run(measure(url, args.rounds, args.scale)))
    finally:
        if cluster is not None:
            cluster.stop()
    if args.as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))


if __name__ == "__main__":
    main()
