"""Files across processes: three `roost serve` on one PostgreSQL database, one Redis and one
S3 bucket (SeaweedFS). A file synced through one process arrives on a device connected to
another, live; a share made through one is used through another; and an upload cut short by
a process killed under it finishes through another, with nothing half-stored visible; wrong
link passwords count on every process.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from client.connection import Connection
from tests.cluster.cluster import CLUSTER_LOOP, Cluster, running_cluster
from tests.files.helpers import Device, ProcessServer, device, share_with
from tests.helpers import NO_RATE_LIMIT, SECOND
from tests.seaweed import session_seaweed

pytestmark = CLUSTER_LOOP

A, B, C = 0, 1, 2


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    seaweed = session_seaweed(request.config)
    bucket = seaweed.url(seaweed.shared_bucket(), seaweed.new_prefix())
    async with running_cluster(
        request.config, tmp_path_factory.mktemp("cluster"), *NO_RATE_LIMIT, "--blocks", bucket,
        env=seaweed.env(),
    ) as running:  # fmt: skip
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def devices() -> AsyncIterator[list[Device]]:
    """Devices a test made, closed after it."""
    made: list[Device] = []
    yield made
    for d in made:
        await d.client.close()


async def on(
    made: list[Device], url: str, tmp: Path, user: str, name: str, *, register: bool = False
) -> Device:
    """A device of `user` whose client talks to the server at `url`."""
    d = await device(ProcessServer(url), tmp, user, name, register=register)
    made.append(d)
    return d


async def next_file_change(conn: Connection, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds * SECOND):
        while (await conn.events.get()).event != "files.changed":
            pass


async def test_a_file_synced_through_one_process_arrives_live_on_a_device_of_another(
    cluster: Cluster, devices: list[Device], tmp_path: Path
) -> None:
    laptop = await on(devices, cluster.url(A), tmp_path, "fay", "laptop", register=True)
    desktop = await on(devices, cluster.url(B), tmp_path, "fay", "desktop")
    session = await cluster.login(C, "fay", "phone")
    phone = await cluster.connect(C, session.token)  # listening on a third process
    try:
        big = os.urandom(3 << 20)  # blocks of its own, and small files packed together
        laptop.write("notes/plan.txt", "bring the bee suits\n")
        laptop.write("photos/hive.raw", big)
        for i in range(20):
            laptop.write(f"small/{i}.txt", f"note {i}\n")
        await laptop.sync()
        await next_file_change(phone)  # told live, through the bus
        await desktop.sync()
        assert desktop.read("notes/plan.txt") == b"bring the bee suits\n"
        assert (
            hashlib.sha256(desktop.read("photos/hive.raw")).digest() == hashlib.sha256(big).digest()
        )
        assert desktop.read("small/7.txt") == b"note 7\n"
        assert desktop.listing() == laptop.listing()
    finally:
        await phone.close()


async def test_a_share_made_through_one_process_is_used_through_another(
    cluster: Cluster, devices: list[Device], tmp_path: Path
) -> None:
    gus = await on(devices, cluster.url(A), tmp_path, "gus", "a", register=True)
    hal = await on(devices, cluster.url(C), tmp_path, "hal", "c", register=True)
    gus.write("club/minutes.md", "# minutes\n")
    await gus.sync()
    await share_with(gus, "club", hal, "editor")  # invited through A, accepted through C
    await hal.sync()
    [mount] = [p for p in hal.listing() if p.endswith("minutes.md")]
    assert hal.read(mount) == b"# minutes\n"
    hal.write(mount, "# minutes\n- honey sale on Saturday\n")
    await hal.sync()
    await gus.sync()
    assert gus.read("club/minutes.md") == b"# minutes\n- honey sale on Saturday\n"


async def test_a_link_made_through_one_process_downloads_from_every_other(
    cluster: Cluster, devices: list[Device], tmp_path: Path
) -> None:
    """Links are in the database and blocks in the bucket: any process serves any link."""
    from client.links import PublicLinks

    joy = await on(devices, cluster.url(A), tmp_path, "joy", "a", register=True)
    data = os.urandom(3 << 20)
    joy.write("hive.raw", data)
    await joy.sync()
    made, _ = await PublicLinks(joy.client).create("hive.raw")

    def fetch(node: int) -> bytes:
        base = cluster.url(node).replace("ws://", "http://").rstrip("/")
        with urllib.request.urlopen(base + made.url_path, timeout=30 * SECOND) as got:
            return bytes(got.read())

    for node in (A, B, C):
        assert await asyncio.to_thread(fetch, node) == data


async def test_an_upload_cut_by_a_killed_process_finishes_through_another(
    cluster: Cluster, devices: list[Device], tmp_path: Path
) -> None:
    proxy = await cluster.proxy(prefer=C)  # C first, while it accepts
    laptop = await on(devices, proxy.url, tmp_path, "ivy", "laptop", register=True)
    desktop = await on(devices, cluster.url(A), tmp_path, "ivy", "desktop")
    data = os.urandom(24 << 20)
    laptop.write("video.raw", data)
    upload = asyncio.create_task(laptop.sync())
    try:
        async with asyncio.timeout(30 * SECOND):  # some blocks are in, not all
            while laptop.sent < 2:
                await asyncio.sleep(0.01)
        await cluster.nodes[C].kill()
        try:
            await upload  # cut short, or done just before the kill
        except Exception:  # noqa: BLE001: what a cut connection raises is the client's own
            pass
        await desktop.sync()
        assert desktop.listing() in ([], ["video.raw"])  # never a part of it
        async with asyncio.timeout(60 * SECOND):  # through the proxy, to a process that is up
            while "video.raw" not in desktop.listing():
                try:
                    await laptop.sync()
                except Exception:  # noqa: BLE001: the client is still reconnecting
                    await asyncio.sleep(0.2)
                await desktop.sync()
        assert hashlib.sha256(desktop.read("video.raw")).digest() == hashlib.sha256(data).digest()
    finally:
        upload.cancel()
        await asyncio.gather(upload, return_exceptions=True)
        if cluster.nodes[C].proc is None or cluster.nodes[C].proc.returncode is not None:
            await cluster.nodes[C].start()  # the module's other tests keep three processes


async def test_wrong_link_passwords_count_on_every_process(
    cluster: Cluster, devices: list[Device], tmp_path: Path
) -> None:
    """Five wrong passwords spread over three processes use up the address's five free
    guesses everywhere: the sixth gets 429, wherever it goes, even with the right password."""
    from client.links import PublicLinks

    wren = await on(devices, cluster.url(A), tmp_path, "wren", "a", register=True)
    wren.write("secret.txt", b"the hive is behind the shed")
    await wren.sync()
    made, _ = await PublicLinks(wren.client).create("secret.txt", password="right horse")

    def status(node: int, password: str) -> int:
        base = cluster.url(node).replace("ws://", "http://").rstrip("/")
        basic = base64.b64encode(f":{password}".encode()).decode()
        request = urllib.request.Request(
            base + made.url_path, headers={"Authorization": f"Basic {basic}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30 * SECOND) as got:
                return int(got.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    for node in (A, A, B, B, C):  # five wrong guesses, none over the limit where it was made
        assert await asyncio.to_thread(status, node, "wrong") == 403
    await asyncio.sleep(0.5)  # the counts travel over the bus (a right password too soon
    for node in (A, B, C):  # would clear them: the holder of the password may)
        assert await asyncio.to_thread(status, node, "right horse") == 429, node
