"""Public links through the client core on every engine: made, fetched over HTTP, pinned to
their version, ended by removal, by a purge of that version and by the maker's role."""

from __future__ import annotations

import asyncio
import base64
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.core import RoostClient
from client.errors import ServerError
from client.links import PublicLinks
from server.files import links as server_links
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


ANSWERS = {200, 206, 400, 401, 403, 404, 405, 416, 429}
URL_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#?")
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


def fuzz_link_requests(port: int, tokens: list[str]) -> None:
    """Hostile requests to /l/…: every answer is a deliberate one, never a 500 nor a hang."""

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
        st.sampled_from(tokens),
        st.text(URL_CHARS, max_size=40),
        st.one_of(
            st.none(), HEADER_TEXT, st.from_regex(r"bytes=[0-9]{0,12}-[0-9]{0,12}", fullmatch=True)
        ),
        st.one_of(st.none(), HEADER_TEXT, HEADER_TEXT.map(lambda t: "Basic " + t)),
    )
    def check(method: str, token: str, tail: str, range_: str | None, auth: str | None) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30 * SECOND)
        try:
            headers = {k: v for k, v in (("Range", range_), ("Authorization", auth)) if v}
            conn.request(method, "/l/" + token + tail, headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status in ANSWERS, (method, tail, headers, response.status)
        finally:
            conn.close()

    check()


async def test_hostile_http_requests_to_links(
    live: LiveServer, client_home: Callable[[str], RoostClient], tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_bytes(b"0123456789" * 1000)
    async with client_home("alice") as alice:
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        await alice.files.put(tmp_path / "a.txt", "a.txt")
        plain, _ = await PublicLinks(alice).create("a.txt")
        guarded, _ = await PublicLinks(alice).create("a.txt", password="sesame")
    await asyncio.to_thread(fuzz_link_requests, live.server.port, [plain.token, guarded.token, ""])
    assert await fetch(f"http://127.0.0.1:{live.server.port}/l/{plain.token}") == (
        200, b"0123456789" * 1000
    )  # fmt: skip


async def test_a_link_ends_when_its_maker_leaves_the_share(
    live: LiveServer, client_home: Callable[[str], RoostClient], tmp_path: Path
) -> None:
    (tmp_path / "plan.txt").write_text("plan")
    async with client_home("alice") as alice, client_home("bob") as bob:
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        await bob.register(live.url, "bob", PASSWORD, "laptop")
        await alice.files.put(tmp_path / "plan.txt", "team/plan.txt")
        await alice.files.share("team", "bob", "editor")
        await bob.files.accept("team")
        _, left = await PublicLinks(bob).create("team/plan.txt")
        _, removed = await PublicLinks(alice).create("team/plan.txt")
        assert await fetch(left) == (200, b"plan")
        await bob.files.leave("team")
        assert (await fetch(left))[0] == 404
        assert await fetch(removed) == (200, b"plan")  # the owner's own link goes on


async def test_links_per_user_are_capped(
    live: LiveServer,
    client_home: Callable[[str], RoostClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server_links, "MAX_LINKS_PER_USER", 3)
    (tmp_path / "a.txt").write_text("a")
    async with client_home("alice") as alice:
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        await alice.files.put(tmp_path / "a.txt", "a.txt")
        made = [(await PublicLinks(alice).create("a.txt"))[0] for _ in range(3)]
        with pytest.raises(ServerError, match="you have 3 links"):
            await PublicLinks(alice).create("a.txt")
        await PublicLinks(alice).remove(made[0].token)
        await PublicLinks(alice).create("a.txt")  # room again


async def test_inside_a_delay_no_password_is_checked(tmp_path: Path) -> None:
    """The limit's rule with a clock of its own: right or wrong, a try inside the delay is
    refused unchecked; the right password afterwards clears the address's count."""
    from websockets.datastructures import Headers
    from websockets.http11 import Request

    from server.accounts.passwords import Passwords
    from server.files.downloads import LinkDownloads
    from storage.server.links import LinkTarget

    now = [1000.0]
    passwords = Passwords(1)
    downloads = LinkDownloads(None, None, passwords, clock=lambda: now[0])  # type: ignore[arg-type]
    target = LinkTarget(7, 8, "a.txt", 1, 0, await passwords.hash("sesame"), ())

    async def attempt(password: str, address: str = "10.0.0.1") -> int:
        auth = "Basic " + base64.b64encode(f":{password}".encode()).decode()
        request = Request("/l/x", Headers([("Authorization", auth)]))
        refusal = await downloads._check_password(target, request, address)
        return 200 if refusal is None else refusal.status_code

    assert [await attempt("nope") for _ in range(5)] == [403] * 5
    assert await attempt("sesame") == 429  # inside the 1 s delay: not even checked
    assert await attempt("nope", "10.0.0.2") == 403  # another address has its own count
    now[0] += 1.5
    assert await attempt("sesame") == 200
    assert await attempt("nope") == 403  # the count started over
