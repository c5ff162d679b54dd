"""Per-user rate limits hold across processes: a user connected to every process of a cluster
gets one bucket's worth of requests, not one per process."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from client.connection import Connection
from client.errors import ServerError
from tests.cluster.cluster import CLUSTER_LOOP, NODES, Cluster, running_cluster

pytestmark = CLUSTER_LOOP

RATE, BURST = 1, 5
PER_CONNECTION = 5  # requests each connection sends at once: BURST on every process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    async with running_cluster(
        request.config, tmp_path_factory.mktemp("cluster"),
        "--rate", str(RATE), "--burst", str(BURST),
    ) as running:  # fmt: skip
        yield running


async def answer(conn: Connection) -> str:
    try:
        await conn.call("auth.whoami")
    except ServerError as exc:
        return exc.code
    return "ok"


async def test_a_user_on_every_process_gets_one_burst_not_one_per_process(
    cluster: Cluster,
) -> None:
    kim = await cluster.register(0, "rate_kim")
    conns = [await cluster.connect(node, kim.token) for node in range(NODES)]
    try:
        answers = Counter(
            await asyncio.gather(*(answer(c) for c in conns for _ in range(PER_CONNECTION)))
        )
        # The burst, and at most what the rate refills while the requests arrive.
        assert BURST <= answers["ok"] <= BURST + 2, answers
        assert answers["ok"] + answers["rate_limited"] == NODES * PER_CONNECTION, answers

        # Someone else's bucket is their own, wherever they are connected.
        lee = await cluster.register(1, "rate_lee")
        other = await cluster.connect(2, lee.token)
        conns.append(other)
        assert await answer(other) == "ok"
    finally:
        for conn in conns:
            await conn.close()
