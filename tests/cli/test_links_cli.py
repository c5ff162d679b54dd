"""Public links as people use them: `roost link` against a `roost serve` process, the URL
fetched with real HTTP clients (urllib, and curl where it is installed)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.helpers import SECOND, Home, ServerProcess, resident_bytes

MiB = 1 << 20


def fetch(
    url: str, *, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body, whatever the status (a blocking call: run it in a thread)."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30 * SECOND) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


async def get(url: str, **kwargs: object) -> tuple[int, dict[str, str], bytes]:
    return await asyncio.to_thread(fetch, url, **kwargs)  # type: ignore[arg-type]


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f":{password}".encode()).decode()}


async def make_link(home: Home, path: str, *args: str, stdin: str | None = None) -> dict[str, str]:
    made = json.loads((await home.ok("link", path, *args, "--json", stdin=stdin)).stdout)
    assert made["url"].startswith(home.server_url.replace("ws://", "http://").rstrip("/") + "/l/")
    return made  # type: ignore[no-any-return]


async def test_a_link_hands_out_that_version_whole_and_in_ranges(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, _ = alice_and_bob_cli
    local = tmp_path / "report été.pdf"
    content = os.urandom(3 * MiB + 12345)  # several blocks
    local.write_bytes(content)
    await alice.ok("files", "put", str(local), "docs/report été.pdf")
    made = await make_link(alice, "docs/report été.pdf", "--expires", "7d")
    url = made["url"]
    assert made["size"] == len(content) and made["expires_at"] is not None

    status, headers, body = await get(url)
    assert status == 200 and body == content
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Length"] == str(len(content))
    assert headers["Accept-Ranges"] == "bytes"
    disposition = headers["Content-Disposition"]
    assert (
        disposition.startswith("attachment;") and "UTF-8''report%20%C3%A9t%C3%A9.pdf" in disposition
    )

    start, end = MiB - 100, 2 * MiB + 100  # across block boundaries (about 1 MiB each)
    status, headers, body = await get(url, headers={"Range": f"bytes={start}-{end}"})
    assert status == 206 and body == content[start : end + 1]
    assert headers["Content-Range"] == f"bytes {start}-{end}/{len(content)}"
    status, _, body = await get(url, headers={"Range": "bytes=-10"})
    assert status == 206 and body == content[-10:]
    status, headers, _ = await get(url, headers={"Range": f"bytes={len(content)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(content)}"
    status, headers, body = await get(url, method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(content))

    if curl := shutil.which("curl"):
        out = tmp_path / "by-curl"
        done = await asyncio.to_thread(
            subprocess.run,
            [curl, "-sS", "-f", "-r", "100-199", "-o", str(out), url],
            capture_output=True,
            timeout=30 * SECOND,
        )
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == content[100:200]

    local.write_bytes(b"a later version")
    await alice.ok("files", "put", str(local), "docs/report été.pdf")
    assert (await get(url))[2] == content  # the link keeps the version it was made for

    listed = json.loads((await alice.ok("link", "ls", "--json")).stdout)["links"]
    assert [(x["id"], x["path"], x["password"]) for x in listed] == [
        (made["id"], "docs/report été.pdf", False)
    ]
    removed = await alice.ok("link", "rm", url)
    assert "404" in removed.stderr
    assert (await get(url))[0] == 404
    assert json.loads((await alice.ok("link", "ls", "--json")).stdout)["links"] == []


async def test_a_link_reaches_nothing_else(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path, server_process: ServerProcess
) -> None:
    alice, _ = alice_and_bob_cli
    (tmp_path / "a.txt").write_text("the linked one")
    (tmp_path / "b.txt").write_text("a private one")
    await alice.ok("files", "put", str(tmp_path / "a.txt"), "a.txt")
    await alice.ok("files", "put", str(tmp_path / "b.txt"), "b.txt")
    url = (await make_link(alice, "a.txt"))["url"]
    base, token = url.rsplit("/l/", 1)
    assert (await get(url))[2] == b"the linked one"
    for path in (
        f"/l/{token}/../b.txt",
        f"/l/{token}/b.txt",
        f"/l/{token[:-1]}",
        f"/l/{token[:-1]}A" if token[-1] != "A" else f"/l/{token[:-1]}B",
        "/l/../b.txt",
        "/l/",
        "/l/b.txt",
    ):
        status, _, body = await get(base + path)
        assert status == 404 and b"private" not in body, path
    status, headers, _ = await get(url, method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    # the port still speaks WebSocket for everyone else
    assert "a.txt" in (await alice.ok("files", "ls")).stdout


async def test_a_password_is_asked_checked_and_guessing_is_slowed(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, _ = alice_and_bob_cli
    (tmp_path / "secret.txt").write_text("for friends")
    await alice.ok("files", "put", str(tmp_path / "secret.txt"), "secret.txt")
    made = await make_link(alice, "secret.txt", "--password-stdin", stdin="open sesame\n")
    url = made["url"]
    status, headers, _ = await get(url)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")  # a browser asks
    status, _, body = await get(url, headers=basic("wrong"))
    assert status == 403 and b"wrong password" in body
    status, _, body = await get(url, headers=basic("open sesame"))
    assert status == 200 and body == b"for friends"
    codes = [(await get(url, headers=basic(f"guess {i}")))[0] for i in range(5)]
    assert codes == [403] * 5  # five free
    for i in range(4):  # then a delay (1 s, doubling), whatever the machine's speed
        status, headers, _ = await get(url, headers=basic(f"more {i}"))
        if status == 429:
            break
    assert status == 429 and int(headers["Retry-After"]) >= 1, status
    listed = json.loads((await alice.ok("link", "ls", "--json")).stdout)["links"]
    assert listed[0]["password"] is True
    empty = await alice.run("link", "secret.txt", "--password-stdin", stdin="\n")
    assert empty.code == 1 and empty.stderr.count("\n") == 1 and "empty" in empty.stderr


async def test_an_expired_link_answers_404(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, _ = alice_and_bob_cli
    (tmp_path / "soon.txt").write_text("briefly")
    await alice.ok("files", "put", str(tmp_path / "soon.txt"), "soon.txt")
    made = await make_link(alice, "soon.txt", "--expires", "3s")
    url, expires_at = made["url"], datetime.fromisoformat(made["expires_at"])
    assert (await get(url))[0] == 200
    await asyncio.sleep((expires_at - datetime.now(UTC)).total_seconds() + 0.3)
    assert (await get(url))[0] == 404
    [listed] = json.loads((await alice.ok("link", "ls", "--json")).stdout)["links"]
    assert listed["expired"] is True


async def test_only_owners_and_editors_make_links_and_keep_them(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, bob = alice_and_bob_cli
    (tmp_path / "plan.txt").write_text("team plan")
    await alice.ok("files", "put", str(tmp_path / "plan.txt"), "team/plan.txt")
    await alice.ok("share", "team", "bob", "--role", "viewer")
    await bob.ok("share", "accept", "team")
    refused = await bob.run("link", "team/plan.txt")
    assert refused.code == 1 and refused.stderr.count("\n") == 1
    assert "viewer" in refused.stderr
    alices = (await make_link(alice, "team/plan.txt"))["url"]
    gone = await bob.run("link", "rm", alices)  # a member, not the maker nor the owner
    assert gone.code == 1 and "no such link" in gone.stderr
    assert (await get(alices))[0] == 200

    await alice.ok("share", "team", "bob", "--role", "editor")
    bobs = (await make_link(bob, "team/plan.txt"))["url"]
    assert (await get(bobs))[2] == b"team plan"
    await alice.ok("share", "team", "bob", "--role", "viewer")
    assert (await get(bobs))[0] == 404  # a viewer no longer hands the share's files out
    # the owner may take down a link a member made of the share's files
    await alice.ok("share", "team", "bob", "--role", "editor")
    bobs_id = json.loads((await bob.ok("link", "ls", "--json")).stdout)["links"][0]["id"]
    await alice.ok("link", "rm", bobs_id)
    assert (await get(bobs))[0] == 404


BAD_INPUT = [
    (("link",), "name a file"),
    (("link", "nothing-here.txt"), "no file"),
    (("link", "a.txt", "--expires", "5q"), "--expires"),
    (("link", "a.txt", "--expires", "0d"), "--expires"),
    (("link", "rm"), "name the link"),
    (("link", "rm", "not-a-link"), "URL, its token or its id"),
    (("link", "rm", "123456"), "no such link"),
    (("link", "ls", "--expires", "7d"), "go with PATH"),
    (("link", "folder"), "is a folder"),
    (("link", "a.txt", "b.txt"), "one file at a time"),
]


async def test_bad_input_gets_one_line(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, _ = alice_and_bob_cli
    (tmp_path / "a.txt").write_text("a")
    await alice.ok("files", "put", str(tmp_path / "a.txt"), "a.txt")
    await alice.ok("files", "mkdir", "folder")
    for args, says in BAD_INPUT:
        result = await alice.run(*args)
        assert result.code == 1, (args, result)
        assert result.stderr.count("\n") == 1 and says in result.stderr, (args, result.stderr)
    assert (
        json.loads((await alice.ok("link", "ls", "--json")).stdout)["links"] == []
    )  # nothing made


async def test_a_download_streams_in_bounded_memory(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path, server_process: ServerProcess
) -> None:
    """A slow reader of a big file costs the server about a block, not the file."""
    alice, _ = alice_and_bob_cli
    size = 96 * MiB
    local = tmp_path / "big.bin"
    with local.open("wb") as f:
        for _ in range(size // MiB):
            f.write(os.urandom(MiB))
    await alice.ok("files", "put", str(local), "big.bin")
    url = (await make_link(alice, "big.bin"))["url"]
    assert server_process.proc is not None
    pid = server_process.proc.pid
    before = resident_bytes(pid)

    def read_slowly() -> tuple[int, int]:
        with urllib.request.urlopen(url, timeout=30 * SECOND) as response:
            first = response.read(MiB)
            time.sleep(1.5)  # the server meanwhile must not read ahead into memory
            during = resident_bytes(pid)
            rest = 0
            while chunk := response.read(4 * MiB):
                rest += len(chunk)
            return during, len(first) + rest

    during, received = await asyncio.to_thread(read_slowly)
    assert received == size
    assert during - before < 32 * MiB, (before, during)


async def test_public_url_names_the_address_people_outside_use(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    """Behind a proxy the server cannot know its outside address: --public-url says it."""
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--public-url", "https://files.example.org/roost/")
    ).start()
    try:
        alice = make_home("alice", server.url)
        await alice.register("alice")
        (tmp_path / "a.txt").write_text("a")
        await alice.ok("files", "put", str(tmp_path / "a.txt"), "a.txt")
        made = json.loads((await alice.ok("link", "a.txt", "--json")).stdout)
        prefix = "https://files.example.org/roost/l/"
        assert made["url"].startswith(prefix)
        token = made["url"].removeprefix(prefix)
        local = server.url.replace("ws://", "http://").rstrip("/") + "/l/" + token
        assert (await get(local))[2] == b"a"  # the proxy strips /roost; the token is the same
    finally:
        await server.kill()


async def test_a_link_over_tls_is_https_and_streams_the_same(
    tmp_path: Path, make_home: Callable[[str, str], Home]
) -> None:
    from tests.server.test_tls import self_signed

    cert, key = self_signed(tmp_path)
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--tls-cert", str(cert), "--tls-key", str(key))
    ).start()
    try:
        alice = make_home("alice", server.url)
        await alice.ok("register", "alice", "--password-stdin", "--ca", str(cert),
                       stdin="correct horse battery\n")  # fmt: skip
        content = os.urandom(2 * MiB + 7)
        (tmp_path / "a.bin").write_bytes(content)
        await alice.ok("files", "put", str(tmp_path / "a.bin"), "a.bin")
        made = json.loads((await alice.ok("link", "a.bin", "--json")).stdout)
        assert made["url"].startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))

        def fetch_tls(headers: dict[str, str]) -> tuple[int, bytes]:
            request = urllib.request.Request(made["url"], headers=headers)
            with urllib.request.urlopen(request, context=context, timeout=30 * SECOND) as got:
                return got.status, got.read()

        assert await asyncio.to_thread(fetch_tls, {}) == (200, content)
        assert await asyncio.to_thread(fetch_tls, {"Range": "bytes=5-9"}) == (206, content[5:10])
    finally:
        await server.kill()


async def test_shutdown_cuts_a_download_instead_of_waiting_for_it(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path, server_process: ServerProcess
) -> None:
    alice, _ = alice_and_bob_cli
    with (tmp_path / "big.bin").open("wb") as f:
        for _ in range(48):
            f.write(os.urandom(MiB))
    await alice.ok("files", "put", str(tmp_path / "big.bin"), "big.bin")
    url = json.loads((await alice.ok("link", "big.bin", "--json")).stdout)["url"]
    response = await asyncio.to_thread(urllib.request.urlopen, url, timeout=30 * SECOND)
    try:
        assert len(await asyncio.to_thread(response.read, MiB)) == MiB  # then stops reading
        started = time.monotonic()
        assert await server_process.terminate() == 0
        assert time.monotonic() - started < 8 * SECOND  # not the 10 s grace, nor forever
    finally:
        response.close()
