"""What Roost's own SQLite thread costs, beside aiosqlite in the same run.

Roost runs each SQLite connection on a thread of its own (storage/sqlite.py) instead of
aiosqlite, whose only way to run a function on its thread is a private method. Both pay one
hop to a worker thread per statement; this measures whether ours is as fast:

1. one-row reads, one after another (the hop, nothing else);
2. the same from 8 tasks at once (a busy server's reader);
3. write transactions of three statements (BEGIN, INSERT, COMMIT), synchronous=OFF so the
   disk does not hide the hop.

"aiosqlite 1 hop" is aiosqlite as Roost used it before (statement and fetch in one hop, through
its private `_execute`), the baseline that matters. Rounds alternate between them so that a
busy machine slows all alike; the medians of the rounds are printed, with the ratio roost /
other (below 1: ours is faster).

    pip install -e '.[bench]' && python bench/sqlite_hop.py [--rounds 5] [--ops 5000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.database import Cursor
from storage.sqlite import SqliteConnection, _Statement

SCHEMA = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"


async def ours(
    path: Path,
) -> tuple[Callable[[str, tuple[object, ...]], Awaitable[object]], Callable[[], Awaitable[None]]]:
    conn = await SqliteConnection(str(path), "OFF").open()

    async def run(sql: str, params: tuple[object, ...]) -> object:
        async with conn.execute(sql, params) as cur:
            return await cur.fetchall()

    return run, conn.close


async def theirs(
    path: Path,
) -> tuple[Callable[[str, tuple[object, ...]], Awaitable[object]], Callable[[], Awaitable[None]]]:
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    await conn.execute("PRAGMA synchronous=OFF")

    async def run(sql: str, params: tuple[object, ...]) -> object:
        async with conn.execute(sql, params) as cur:
            return await cur.fetchall()

    return run, conn.close


async def theirs_one_hop(
    path: Path,
) -> tuple[Callable[[str, tuple[object, ...]], Awaitable[object]], Callable[[], Awaitable[None]]]:
    """aiosqlite as Roost used it before: statement and fetch in one hop, through its private
    `_execute` (the only way to run a function on its thread)."""
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    await conn.execute("PRAGMA synchronous=OFF")

    def fetch(sql: str, params: tuple[object, ...]) -> Cursor:
        rows = conn._conn.execute(sql, params).fetchall()
        return Cursor(rows, len(rows))

    async def run(sql: str, params: tuple[object, ...]) -> object:
        # The same shape as Roost's own: a statement used with `async with`, a fetched cursor.
        statement = _Statement(conn._execute(fetch, sql, params))  # type: ignore[no-untyped-call]
        async with statement as cur:
            return await cur.fetchall()

    return run, conn.close


async def measure(
    opener: Callable[
        [Path], Awaitable[tuple[Callable[..., Awaitable[object]], Callable[[], Awaitable[None]]]]
    ],
    path: Path,
    ops: int,
) -> dict[str, float]:
    run, close = await opener(path)
    try:
        await run(SCHEMA, ())
        await run("PRAGMA journal_mode=WAL", ())
        started = time.perf_counter()
        for i in range(ops):
            await run("SELECT ?", (i,))
        reads = (time.perf_counter() - started) / ops

        async def reader(n: int) -> None:
            for i in range(n):
                await run("SELECT ?", (i,))

        started = time.perf_counter()
        await asyncio.gather(*(reader(ops // 8) for _ in range(8)))
        concurrent = (time.perf_counter() - started) / (ops // 8 * 8)

        n = ops // 5
        started = time.perf_counter()
        for i in range(n):
            await run("BEGIN IMMEDIATE", ())
            await run("INSERT INTO t (v) VALUES (?)", (f"row {i}",))
            await run("COMMIT", ())
        writes = (time.perf_counter() - started) / n
    finally:
        await close()
    return {
        "read_us": reads * 1e6,
        "read_8_tasks_us": concurrent * 1e6,
        "write_tx_us": writes * 1e6,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ops", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    openers = {"roost": ours, "aiosqlite": theirs, "aiosqlite 1 hop": theirs_one_hop}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in openers}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, opener in openers.items():
                results[name].append(await measure(opener, Path(tmp) / f"{name}-{r}.db", args.ops))
    medians = {
        name: {k: statistics.median(run[k] for run in runs) for k in runs[0]}
        for name, runs in results.items()
    }
    if args.json:
        print(json.dumps(medians))
        return
    print(
        f"sqlite {sqlite3.sqlite_version}, aiosqlite {aiosqlite.__version__},"
        f" {args.rounds} rounds x {args.ops} ops; medians, µs per statement (ratio: roost / other)"
    )
    print(f"{'':<26}{'roost':>8}{'aiosqlite':>16}{'aiosqlite 1 hop':>22}")
    for key, label in (
        ("read_us", "one-row read"),
        ("read_8_tasks_us", "read, 8 tasks at once"),
        ("write_tx_us", "write tx (3 statements)"),
    ):
        a = medians["roost"][key]
        cells = [f"{medians[n][key]:>7.1f} ({a / medians[n][key]:.2f})" for n in list(openers)[1:]]
        print(f"{label:<26}{a:>8.1f}{cells[0]:>16}{cells[1]:>22}")


if __name__ == "__main__":
    asyncio.run(main())
