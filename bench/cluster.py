"""What the cluster benchmarks need beside `roost serve`: a throw-away Redis, and the CPU each
process of the cluster used over a step (servers, PostgreSQL's processes, Redis).

Redis is the machine's own `redis-server` (Debian's package), started on a free loopback
port with persistence off, and stopped with the benchmark, as bench/chat.py does with
PostgreSQL (tests/postgres.py).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

HOST = "127.0.0.1"
REDIS_START_TIMEOUT = 10.0
REDIS_HINT = "the cluster benchmark needs `redis-server`: apt-get install redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """One `redis-server` on a free loopback port, nothing kept on disk."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit(REDIS_HINT)
        self.binary = binary
        self.folder = Path(tempfile.mkdtemp(prefix="roost-bench-redis-"))
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "start() first"
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> RedisServer:
        # A free port can be taken between the probe and redis's bind: try a few.
        for _attempt in range(5):
            self.port = free_port()
            if self._launch():
                return self
        self.stop()
        raise RuntimeError(f"redis-server did not start: see {self.folder / 'redis.log'}")

    def pause(self) -> None:
        """Stop Redis, keeping the port (an outage of the bus)."""
        self._kill()

    def resume(self) -> None:
        """Start Redis again on the same port, empty."""
        if not self._launch():
            raise RuntimeError(f"redis-server did not start again on port {self.port}")

    def _launch(self) -> bool:
        with open(self.folder / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    *("--bind", HOST, "--port", str(self.port), "--dir", str(self.folder)),
                    *("--save", "", "--appendonly", "no", "--protected-mode", "yes"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if self._answers():
            return True
        self._kill()
        return False

    def _answers(self) -> bool:
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                with socket.create_connection((HOST, self.port), timeout=1.0) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return True
            time.sleep(0.05)
        return False

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


class ProcessCpu:
    """CPU seconds (user + system) a process and all its descendants used since `mark()`.

    A descendant that started after the mark counts from zero; one that ended before the
    reading is lost (PostgreSQL's backends live as long as the pools that opened them)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._at_mark: dict[int, float] = {}

    def _tree(self) -> dict[int, float]:
        used: dict[int, float] = {}
        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return used
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                times = process.cpu_times()
                used[process.pid] = float(times.user + times.system)
        return used

    def mark(self) -> None:
        self._at_mark = self._tree()

    def since_mark(self) -> float:
        return sum(cpu - self._at_mark.get(pid, 0.0) for pid, cpu in self._tree().items())


def postmaster_pid(data: Path) -> int:
    """The pid of the PostgreSQL server whose data folder is `data` (postmaster.pid's first
    line); its children are the backends, the WAL writer, the checkpointer."""
    return int((data / "postmaster.pid").read_text().split("\n", 1)[0])


_PROBLEM = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) (.*)$")


def log_problems(folder: Path) -> list[str]:
    """The warnings and errors in the server logs under `folder`, each kind once with its count
    (numbers made N, so "chat batch of 48 failed" and "... of 12 ..." are one kind): a bus that
    went away or a failed commit shows in the report, not only in a deleted log."""
    found: dict[tuple[str, str], int] = {}
    for log in sorted(folder.rglob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if match := _PROBLEM.match(line):
                kind = (log.name, re.sub(r"\d+", "N", f"{match[1]} {match[2]}"))
                found[kind] = found.get(kind, 0) + 1
    return [f"{name}: {count} x {what}" for (name, what), count in found.items()]
