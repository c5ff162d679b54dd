"""PostgreSQL going away under a running server (its cluster stopped, every backend gone):
ops answer `unavailable`, /healthz says 503 with the reason, the outage is logged once, and
when the database returns the server serves again by itself with nothing acked lost.

These tests run on a private cluster, which they stop and start; the rules they check are
PostgreSQL's alone (SQLite lives in the server's own folder and cannot go away like this).
The last one checks DatabaseOutage's logging rule on its own, without a database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from client.connection import Connection
from client.errors import ServerError, ServerUnavailable
from client.sync.transfer import Transfer
from protocol.profiles import GetProfile, Profile, SetProfile
from server.database_outage import MESSAGE, DatabaseOutage
from storage.database import Cursor
from storage.errors import Unavailable
from tests.conftest import LiveServer, start_server
from tests.helpers import SECOND, Home
from tests.postgres import PostgresCluster, private_cluster
from tests.reliability.workloads import sign_in
from tests.server.test_health import get, http

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with private_cluster() as made:
        yield made


@pytest.fixture
async def live_on_pg(tmp_path: Path, cluster: PostgresCluster) -> AsyncIterator[LiveServer]:
    if not cluster.running:  # a test that failed while the cluster was stopped
        cluster.resume()
    server = await start_server(
        tmp_path / "server", database_url=cluster.url(cluster.create_database())
    )
    try:
        yield LiveServer(server)
    finally:
        if not cluster.running:
            await asyncio.to_thread(cluster.resume)
        await server.stop()


async def health(live: LiveServer) -> tuple[int, dict[str, object]]:
    status, _, body = await asyncio.to_thread(get, http(live, "/healthz"))
    return status, json.loads(body)


async def until_healthy(live: LiveServer, seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds * SECOND):
        while (await health(live))[0] != 200:
            await asyncio.sleep(0.2)


async def set_name(conn: Connection, name: str, key: str) -> Profile:
    done: Profile = await conn.call("profile.set", SetProfile(display_name=name, client_id=key))
    return done


async def test_ops_answer_unavailable_while_the_database_is_away_and_nothing_acked_is_lost(
    live_on_pg: LiveServer, cluster: PostgresCluster, caplog: pytest.LogCaptureFixture
) -> None:
    live = live_on_pg
    alice_session, bob_session = await live.register("alice"), await live.register("bob")
    alice = await live.connect(alice_session.token)
    await set_name(alice, "Alice Before", "before-0")
    bio = await alice.call("profile.set", SetProfile(bio="acked before", client_id="bio-0000"))
    assert bio.bio == "acked before"

    caplog.set_level(logging.INFO, logger="roost.server")
    before = len(caplog.records)
    await asyncio.to_thread(cluster.pause)
    for n in range(3):  # writes, on a connection opened before the outage
        with pytest.raises(ServerError) as refused:
            await set_name(alice, f"Alice During {n}", f"during-{n}-00")
        assert (refused.value.code, refused.value.message) == ("unavailable", MESSAGE)
    with pytest.raises(ServerError) as refused:  # a read
        await alice.call("profile.get", GetProfile(username="bob"))
    assert refused.value.code == "unavailable"
    block = b"a block uploaded while the database is away"
    with pytest.raises(ServerError) as refused:  # a binary block frame
        await Transfer(alice).put_block(hashlib.sha256(block).hexdigest(), block)
    assert (refused.value.code, refused.value.message) == ("unavailable", MESSAGE)
    status, page = await health(live)
    assert status == 503 and page["database"] == "unavailable"
    assert "PostgreSQL" in str(page["reason"]) and "unavailable" in str(page["reason"])
    with pytest.raises(ServerUnavailable, match="database is unavailable"):  # a new connection
        await live.connect(bob_session.token)
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(outage_lines) == 1, "an outage is logged once, not once per op"

    await asyncio.to_thread(cluster.resume)
    await until_healthy(live)  # by itself: nothing restarted the Roost server
    async with asyncio.timeout(10 * SECOND):
        while not any("database is back" in r.getMessage() for r in caplog.records):
            await asyncio.sleep(0.1)
    errors = [r.getMessage() for r in caplog.records[before:] if r.levelno >= logging.ERROR]
    assert not errors, "an outage is not a bug: no errors, no tracebacks"

    bob = await live.connect(bob_session.token)
    seen = await bob.call("profile.get", GetProfile(username="alice"))
    # Every acked write is there; none refused was applied.
    assert (seen.display_name, seen.bio) == ("Alice Before", "acked before")
    # A refused write retried with its key (as a client's outbox does) lands, and only once.
    retried = await set_name(alice, "Alice During 2", "during-2-00")
    later = await alice.call("profile.set", SetProfile(bio="acked after", client_id="after-00"))
    again = await set_name(alice, "Alice During 2", "during-2-00")  # a replay: the first answer
    assert again.updated_at == retried.updated_at and again.bio == "acked before"
    seen = await bob.call("profile.get", GetProfile(username="alice"))
    assert (seen.display_name, seen.bio) == ("Alice During 2", later.bio)
    carol = await live.register("carol")  # accounts work again too
    assert carol.username == "carol"
    await asyncio.gather(alice.close(), bob.close())


async def test_a_cli_user_writing_while_the_database_is_away_is_told_so_and_it_lands_later(
    live_on_pg: LiveServer, cluster: PostgresCluster, tmp_path: Path
) -> None:
    live = live_on_pg
    alice, bob = Home(tmp_path / "alice", live.url), Home(tmp_path / "bob", live.url)
    await alice.register("alice")
    await bob.register("bob")
    await alice.ok("profile", "set", "--name", "Before")

    await asyncio.to_thread(cluster.pause)
    sent = await alice.run("profile", "set", "--name", "While it was away")
    assert sent.code == 0, sent.stderr
    assert sent.stderr.strip() == (
        "queued: the server's database is unavailable;"
        " it will be sent on the next connection (roost outbox lists it)"
    )
    read = await bob.run("profile", "show", "alice", "--json")
    assert read.code == 1
    assert read.stderr.strip() == f"error: {MESSAGE}"

    await asyncio.to_thread(cluster.resume)
    await until_healthy(live)
    await alice.ok("whoami")  # reaches the server: the outbox is replayed first
    shown = json.loads((await bob.ok("profile", "show", "alice", "--json")).stdout)
    assert shown["display_name"] == "While it was away"


async def test_the_client_core_queues_a_write_refused_unavailable_and_replays_it_first(
    live_on_pg: LiveServer, cluster: PostgresCluster, tmp_path: Path
) -> None:
    live = live_on_pg
    client = await sign_in(live.url, tmp_path / "alice", "alice", register=True)
    try:
        await client.write("profile.set", SetProfile(display_name="One"))  # connected now
        await asyncio.to_thread(cluster.pause)
        written = await client.write("profile.set", SetProfile(display_name="Two"))
        assert written.queued and written.why_queued == MESSAGE
        assert await client.outbox.count() == 1

        await asyncio.to_thread(cluster.resume)
        await until_healthy(live)
        # The next write reconnects, which replays "Two" first: "Three" stays the last.
        after = await client.write("profile.set", SetProfile(bio="Three"))
        assert not after.queued and await client.outbox.count() == 0
        assert client.last_replay is not None and not client.last_replay.failed
        assert (after.result.display_name, after.result.bio) == ("Two", "Three")
    finally:
        await client.close()


class Switchable:
    """A database whose reader fails while `down` (for DatabaseOutage's own rules)."""

    class _Reader:
        def __init__(self, owner: Switchable) -> None:
            self.owner = owner

        def execute(self, sql: str, parameters: object = ()) -> Any:
            if self.owner.down:
                raise Unavailable("gone")
            return Cursor([(1,)], 1)

    def __init__(self) -> None:
        self.down = True
        self.reader = self._Reader(self)


async def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    db = Switchable()
    outage = DatabaseOutage(db, probe_every=0.01)  # type: ignore[arg-type]
    caplog.set_level(logging.INFO, logger="roost.server")
    for _ in range(50):
        outage.noticed(Unavailable("PostgreSQL at h:5432/d is unavailable: refused"))
    assert outage.ongoing
    await asyncio.sleep(0.05)  # probes fail meanwhile, quietly
    db.down = False
    async with asyncio.timeout(5 * SECOND):
        while outage.ongoing:
            await asyncio.sleep(0.01)
    lines = [r.getMessage() for r in caplog.records]
    assert len([m for m in lines if "database unavailable" in m]) == 1
    assert len([m for m in lines if "database is back" in m]) == 1
    db.down = True
    outage.noticed(Unavailable("again"))  # a second outage is a second pair of lines
    assert outage.ongoing
    await outage.close()
    assert len([r for r in caplog.records if "database unavailable" in r.getMessage()]) == 2
