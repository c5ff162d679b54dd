"""GET /healthz: 200 while the server can serve, 503 with the reason when its database does
not answer; /metrics on a listener of its own with --metrics-listen."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.errors import Unreachable
from server import health
from server.app import RoostServer
from server.config import ServerConfig, parse_listen_address
from tests.conftest import LiveServer, sample_value
from tests.helpers import SECOND, Home, ServerProcess

# A read that never ends on its own: it holds the server's one reader connection.
ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n"


def get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of a plain HTTP GET (an error status too)."""
    try:
        with urllib.request.urlopen(url, timeout=10 * SECOND) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def http(live: LiveServer, path: str) -> str:
    return live.url.replace("ws://", "http://") + path


async def test_healthz_is_200_with_a_small_json_body_while_the_server_serves(
    live: LiveServer,
) -> None:
    await live.register("alice")
    status, kind, body = await asyncio.to_thread(get, http(live, "/healthz"))
    assert status == 200
    assert kind == "application/json"
    page = json.loads(body)
    assert page["status"] == "ok" and page["database"] == "ok"
    assert page["version"] == health.roost_version() != ""
    assert 0 <= page["uptime_s"] < 60
    # a query string (cache busting by some monitors) is the same page
    assert (await asyncio.to_thread(get, http(live, "/healthz?probe=1")))[0] == 200


@pytest.mark.engines("sqlite")  # drives SQLite's one reader connection
async def test_healthz_is_503_with_the_reason_once_the_database_cannot_be_read(
    live: LiveServer,
) -> None:
    session = await live.register("alice")
    await live.server.db.reader.close()  # every read op now fails, as on a lost disk

    status, kind, body = await asyncio.to_thread(get, http(live, "/healthz"))
    assert status == 503
    assert kind == "application/json"
    page = json.loads(body)
    assert page["status"] == "unavailable" and page["database"] == "unavailable"
    assert page["reason"].startswith("database unreachable: ")
    # what the page says is true: a device cannot even connect (its token is a read)
    with pytest.raises(Unreachable, match="HTTP 500"):
        await live.connect(session.token)


@pytest.mark.engines("sqlite")  # drives SQLite's one reader connection
async def test_healthz_is_503_when_the_database_does_not_answer_in_time(
    live: LiveServer,
) -> None:
    # A read that takes far longer than the check waits holds the one reader connection.
    reader = live.server.db.reader
    endless = asyncio.ensure_future(reader.execute(ENDLESS))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    status, _, body = await asyncio.to_thread(get, http(live, "/healthz"))
    waited = time.monotonic() - started
    await reader.interrupt()
    with pytest.raises(Exception, match="interrupted"):
        await endless
    assert status == 503
    assert json.loads(body)["reason"] == (
        f"database did not answer within {health.DATABASE_TIMEOUT:g} s"
    )
    assert health.DATABASE_TIMEOUT <= waited < health.DATABASE_TIMEOUT + 5 * SECOND
    # the reader is free again: so is the server
    assert (await asyncio.to_thread(get, http(live, "/healthz")))[0] == 200


@pytest.mark.engines("sqlite")  # drives SQLite's one reader connection
async def test_a_failing_check_is_logged_once_and_its_recovery_once(
    live: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roost.server")
    reader = live.server.db.reader
    endless = asyncio.ensure_future(reader.execute(ENDLESS))
    await asyncio.sleep(0.1)
    for _ in range(2):
        assert (await asyncio.to_thread(get, http(live, "/healthz")))[0] == 503
    await reader.interrupt()
    with pytest.raises(Exception, match="interrupted"):
        await endless
    for _ in range(2):
        assert (await asyncio.to_thread(get, http(live, "/healthz")))[0] == 200
    said = [r.getMessage() for r in caplog.records if "health check" in r.getMessage()]
    assert said == [
        f"health check failed: database did not answer within {health.DATABASE_TIMEOUT:g} s",
        "health check passes again",
    ]


async def test_healthz_says_shutting_down_while_in_flight_ops_finish(tmp_path: Path) -> None:
    """During the shutdown grace the main port stops listening; the monitoring listener
    stays up to the end and says why the server is going."""
    config = ServerConfig(
        data_dir=tmp_path / "data", port=0, metrics_host="127.0.0.1", shutdown_grace=10.0
    )
    server = RoostServer(config)
    await server.start()
    live = LiveServer(server)
    session = await live.register("alice")
    conn = await live.connect(session.token)
    endless = asyncio.ensure_future(server.db.reader.execute(ENDLESS))
    await asyncio.sleep(0.1)
    in_flight = asyncio.create_task(conn.call("devices.list"))  # waits behind the read
    await asyncio.sleep(0.1)
    stopping = asyncio.create_task(server.stop())
    await asyncio.sleep(0.1)
    try:
        status, _, body = await asyncio.to_thread(
            get, f"http://127.0.0.1:{server.metrics_port}/healthz"
        )
        assert status == 503
        assert json.loads(body)["reason"] == "server is shutting down"
        assert not stopping.done()
    finally:
        await server.db.reader.interrupt()
        await asyncio.gather(endless, in_flight, return_exceptions=True)
        await stopping
        await conn.close()


async def test_metrics_listen_moves_metrics_off_the_main_port(tmp_path: Path) -> None:
    config = ServerConfig(data_dir=tmp_path / "data", port=0, metrics_host="127.0.0.1")
    server = RoostServer(config)
    await server.start()
    try:
        live = LiveServer(server)
        await live.register("alice")
        monitoring = f"http://127.0.0.1:{server.metrics_port}"
        assert server.metrics_port != server.port

        status, kind, page = await asyncio.to_thread(get, monitoring + "/metrics")
        assert status == 200 and kind.startswith("text/plain")
        assert sample_value(page, 'roost_ops_total{op="auth.register",outcome="ok"}') == 1
        assert (await asyncio.to_thread(get, monitoring + "/healthz"))[0] == 200
        assert (await asyncio.to_thread(get, monitoring + "/anything"))[0] == 404
        # the main port, the one facing the internet, no longer shows the counts
        status, _, body = await asyncio.to_thread(get, http(live, "/metrics"))
        assert status == 404 and "roost_" not in body
        assert (await asyncio.to_thread(get, http(live, "/healthz")))[0] == 200
    finally:
        await server.stop()
    with pytest.raises(OSError):  # the listener closed with the server
        await asyncio.to_thread(get, monitoring + "/healthz")


async def test_roost_serve_metrics_listen_flag(tmp_path: Path) -> None:
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--metrics-listen", "127.0.0.1:0")
    ).start()
    try:
        line = await server.logged("metrics on http://127.0.0.1:")
        url = line.split("metrics on ", 1)[1].split()[0]
        status, _, page = await asyncio.to_thread(get, url)
        assert status == 200 and "roost_connections 0" in page
        main = server.url.replace("ws://", "http://")
        assert (await asyncio.to_thread(get, main + "/metrics"))[0] == 404
        assert (await asyncio.to_thread(get, main + "/healthz"))[0] == 200

        # a second server whose metrics address is taken: one line, and it leaves nothing held
        taken = url.split("//", 1)[1].split("/", 1)[0]
        other = tmp_path / "other"
        home = Home(tmp_path / "h", "ws://unused")
        result = await home.run(
            "serve", "--port", "0", "--data", str(other), "--metrics-listen", taken
        )
        assert result.code == 1
        assert result.stderr.splitlines()[-1].startswith("error: cannot start the server: ")
        assert "address already in use" in result.stderr
        again = await ServerProcess(other).start()  # its data folder was let go
        await again.terminate()
    finally:
        await server.terminate()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("9100", "write HOST:PORT"),
        ("127.0.0.1:http", "write HOST:PORT"),
        ("127.0.0.1:70000", "write HOST:PORT"),
        ("::1:9100", "put an IPv6 address in brackets"),
        ("[nope]:9100", "is not an IPv6 address"),
    ],
)
async def test_a_bad_metrics_listen_is_a_one_line_usage_error(
    tmp_path: Path, value: str, says: str
) -> None:
    result = await Home(tmp_path / "h", "ws://unused").run(
        "serve", "--port", "0", "--data", str(tmp_path / "d"), "--metrics-listen", value
    )
    assert result.code == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_listen_addresses_parse() -> None:
    assert parse_listen_address("127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert parse_listen_address("[::1]:0") == ("::1", 0)
    assert parse_listen_address("monitor.lan:9100") == ("monitor.lan", 9100)
    assert parse_listen_address("0.0.0.0:65535") == ("0.0.0.0", 65535)


@given(
    st.one_of(
        st.ip_addresses(v=4).map(str),
        st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
        st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,5})?", fullmatch=True),
    ),
    st.integers(0, 65535),
)
def test_any_host_and_port_parse_back(host: str, port: int) -> None:
    parsed_host, parsed_port = parse_listen_address(f"{host}:{port}")
    assert parsed_port == port
    assert parsed_host == host.strip("[]")


@given(st.text(max_size=30))
def test_anything_else_is_a_value_error_with_the_form_to_write(text: str) -> None:
    try:
        parse_listen_address(text)
    except ValueError as exc:
        assert repr(text) in str(exc)
