"""A real, throwaway Redis for tests: Debian's `redis-server` on a free loopback port, in a
temporary folder, with no persistence (`--save ''`, no append-only file), so nothing it held
outlives it.

The session shares one (`session_redis()`, the `redis_url` fixture); a test that takes Redis
away and brings it back (an outage) starts its own with `private_redis()`: `stop()` ends it,
`start()` brings it back empty on the same port, as a restarted Redis without persistence is.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import free_port

INSTALL_HINT = (
    "redis-server is needed for these tests: install it with `apt-get install redis-server`"
    " (Debian/Ubuntu)"
)
START_SECONDS = 15.0


class RedisServer:
    """One `redis-server` process; `start()` on a free port the first time, on the same port
    after a `stop()`."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.binary = binary
        self.folder = Path(tempfile.mkdtemp(prefix="roost-redis-"))
        self.log = self.folder / "redis.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> RedisServer:
        # A free port can be taken between our probe and Redis's bind: try a few (only the
        # first start picks; a restart must come back where its clients look for it).
        for _attempt in range(5 if self.port == 0 else 1):
            port = self.port or free_port()
            if self._start_on(port):
                self.port = port
                return self
        raise RuntimeError(f"redis-server did not start; its log:\n{self._log_tail()}")

    def _start_on(self, port: int) -> bool:
        command = [
            self.binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.folder),
            "--logfile", str(self.log),
            "--daemonize", "no",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # the port was taken, most likely: the log says
            if _server_pid(port) == self.proc.pid:  # ours, not another test run's Redis
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def stop(self) -> None:
        """End the server as a crash would (SIGKILL): clients see their connections drop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"


def _server_pid(port: int) -> int | None:
    """The process id of the Redis answering on this port (inline INFO, no client library),
    or None while nothing answers: another test run's Redis may have taken a port we probed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"INFO server\r\n")
            reply = b""
            while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    return None
                reply += chunk
    except OSError:
        return None
    found = re.search(rb"process_id:(\d+)", reply)
    return int(found[1]) if found else None


def _new_server() -> RedisServer:
    """Missing redis-server fails the test with the install line, never skips it."""
    try:
        return RedisServer()
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer]:
    """A Redis of a test's own, which it may stop and start again (the session's is shared)."""
    server = _new_server()
    try:
        yield server.start()
    finally:
        server.remove()


_session: RedisServer | None = None
_session_lock = threading.Lock()


def session_redis(config: pytest.Config) -> RedisServer:
    """The session's Redis, started on first use and removed when pytest unconfigures."""
    global _session
    with _session_lock:
        if _session is None:
            server = _new_server()
            try:
                server.start()
            except BaseException:
                server.remove()
                raise
            _session = server
            config.add_cleanup(_stop_session_redis)
        return _session


def _stop_session_redis() -> None:
    global _session
    with _session_lock:
        if _session is not None:
            _session.remove()
            _session = None
