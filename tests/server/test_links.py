"""Public links through the client core on every engine: made, fetched over HTTP, pinned to
their version, ended by removal, by a purge of that version and by the maker's role."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from client.core import RoostClient
from client.errors import ServerError
from client.links import PublicLinks
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, SECOND


def status_and_body(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30 * SECOND) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


async def fetch(url: str) -> tuple[int, bytes]:
    return await asyncio.to_thread(status_and_body, url)


async def test_links_on_every_engine(
    live: LiveServer, client_home: Callable[[str], RoostClient], tmp_path: Path
) -> None:
    local = tmp_path / "notes.txt"
    async with client_home("alice") as alice, client_home("bob") as bob:
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        await bob.register(live.url, "bob", PASSWORD, "laptop")
        local.write_text("first")
        await alice.files.put(local, "team/notes.txt")
        local.write_text("second")
        await alice.files.put(local, "team/notes.txt")
        await alice.files.share("team", "bob", "editor")
        await bob.files.accept("team")

        made, url = await PublicLinks(alice).create("team/notes.txt", expires_in_s=3600)
        assert url == f"http://127.0.0.1:{live.server.port}/l/{made.token}"
        assert await fetch(url) == (200, b"second")
        local.write_text("third")
        await alice.files.put(local, "team/notes.txt")
        assert await fetch(url) == (200, b"second")  # pinned to its version
        [(listed, shown)] = await PublicLinks(alice).list()
        assert (listed.id, shown, listed.has_password) == (made.link.id, "team/notes.txt", False)

        # bob, an editor, links the current version; demoted to viewer, his link stops
        _, bobs = await PublicLinks(bob).create("team/notes.txt", password="let me in")
        assert (await fetch(bobs))[0] == 401
        await alice.files.share("team", "bob", "viewer")
        assert (await fetch(bobs))[0] == 404
        with pytest.raises(ServerError, match="viewer"):
            await PublicLinks(bob).create("team/notes.txt")
        with pytest.raises(ServerError, match="no such link"):
            await PublicLinks(bob).remove(url)

        # a purge forgets the version the link hands out: the link ends with it
        await alice.files.purge("team/notes.txt")
        assert (await fetch(url))[0] == 404
        fresh, fresh_url = await PublicLinks(alice).create("team/notes.txt")
        assert await fetch(fresh_url) == (200, b"third")
        await PublicLinks(alice).remove(fresh.link.id)
        assert (await fetch(fresh_url))[0] == 404
