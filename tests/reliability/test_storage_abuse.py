"""A member who tries to store more than the server lets them, with frames no real client
sends, against a real `roost serve` with a quota and an entry limit: every attempt is refused
with a line that names the limit, and nothing of it counts or stays."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol import files as wire
from tests.reliability.live import Peer, RoostProcess, register

MAX_ENTRIES = 1000
MAX_STAGED = 100_000  # server.config.Limits.max_staged_blocks


@pytest.fixture(scope="module")
def mallory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Peer, str]]:
    server = RoostProcess(
        Path(tmp_path_factory.mktemp("abuse")),
        "--quota", "1MiB", "--max-entries", str(MAX_ENTRIES),
    )  # fmt: skip
    peer = Peer(server.url, register(server.url, "mallory")["token"])
    home = peer.call("files.namespaces", {})["namespaces"][0]["id"]
    try:
        yield peer, home
    finally:
        peer.close()
        server.stop()
        assert not server.errors_logged()


def put(peer: Peer, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).digest()
    peer.send(wire.encode_block_frame(wire.PUT, 1, digest, wire.Codec.RAW, data))
    reply = peer.reply()
    assert isinstance(reply, dict), reply
    return reply


def commit(peer: Peer, home: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = peer.call(
        "files.commit", {"namespace_id": home, "items": items}
    )["outcomes"]
    return outcomes


def test_blocks_past_the_quota_neither_wait_nor_commit_under_a_false_size(
    mallory: tuple[Peer, str],
) -> None:
    peer, home = mallory
    first = os.urandom(3 << 20)
    assert put(peer, first)["ok"]  # under the cap when it arrived
    refused = put(peer, os.urandom(3 << 20))
    assert refused["error"]["code"] == "quota_exceeded"
    assert refused["error"]["message"].startswith("uploads waiting for a commit are at this")

    block = hashlib.sha256(first).hexdigest()
    item = {"path": "six.bin", "parent_id": None, "size": 1, "blocks": [block, block]}
    [lie] = commit(peer, home, [item])
    assert lie["code"] == "invalid_args" and "6,291,456 bytes its blocks hold" in lie["message"]
    [honest] = commit(peer, home, [{**item, "size": 6 << 20}])
    assert honest["code"] == "quota_exceeded"
    usage = peer.call("account.usage", {})
    assert (usage["used_bytes"], usage["entries"]) == (0, 0)


def test_empty_files_stop_at_the_entry_limit(mallory: tuple[Peer, str]) -> None:
    peer, home = mallory
    accepted = 0
    for batch in range(6):  # 1,200 empty files, 200 to a commit
        items = [
            {"path": f"empty/{batch}-{i}", "parent_id": None, "size": 0}
            for i in range(wire.MAX_COMMIT_ITEMS)
        ]
        for outcome in commit(peer, home, items):
            if "entry" in outcome:
                accepted += 1
            else:
                assert outcome["code"] == "quota_exceeded"
                assert outcome["message"].startswith(f"too many entries: {MAX_ENTRIES:,} kept")
    assert accepted == MAX_ENTRIES - 1  # and the folder "empty" they needed
    assert peer.call("account.usage", {})["entries"] == MAX_ENTRIES


def test_a_flood_of_staged_blocks_stops_at_the_cap(mallory: tuple[Peer, str]) -> None:
    peer, _ = mallory
    page = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(800)]
    staged = 0
    for n in range(MAX_STAGED // len(page) + 2):
        args = {"upload_id": f"flood-{n:04}", "offset": 0, "hashes": page}
        reply = peer.request("files.stage", args)
        if not reply["ok"]:
            assert reply["error"]["code"] == "quota_exceeded"
            assert reply["error"]["message"].startswith("too many staged blocks")
            break
        staged += len(page)
    assert staged == MAX_STAGED
