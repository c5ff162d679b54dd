"""A `roost serve` subprocess and raw, synchronous WebSocket peers, for tests that send frames
no real client would (fuzzing) or act as several users against one server (authorization).

Synchronous on purpose: hypothesis drives plain functions, and a blocking socket per peer
keeps each exchange a simple send-then-receive.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from protocol import files as files_wire
from tests.helpers import _LISTENING, NO_RATE_LIMIT, PASSWORD, SECOND, resident_bytes, roost_command

# Each peer opens a new connection after this many requests, so no one connection carries the
# whole run.
REQUESTS_PER_CONNECTION = 150
_LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


class RoostProcess:
    """`roost serve` on a free port; `alive` and `rss_bytes` watch the process from outside."""

    def __init__(self, data_dir: Path, *flags: str) -> None:
        serve = [*roost_command(), "serve", "--port", "0", "--data", str(data_dir)]
        self.proc = subprocess.Popen(
            [*serve, *NO_RATE_LIMIT, "--registration", "open", *flags],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self.url = self._wait_listening()
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def _wait_listening(self) -> str:
        assert self.proc.stderr is not None
        timer = threading.Timer(20 * SECOND, self.proc.kill)  # a hung start-up fails the test
        timer.start()
        try:
            for line in self.proc.stderr:
                self.log.append(line)
                if m := _LISTENING.search(line):
                    return m[1]
        finally:
            timer.cancel()
        raise RuntimeError("server exited during start-up:\n" + "".join(self.log))

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_bytes(self) -> int:
        return resident_bytes(self.proc.pid)

    def errors_logged(self) -> list[str]:
        """Each ERROR record of the server log, with its traceback."""
        errors: list[str] = []
        for line in self.log:
            if " ERROR " in line:
                errors.append(line)
            elif errors and not _LOG_RECORD.match(line):
                errors[-1] += line  # a traceback line of the record before
        return errors

    def stop(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(20 * SECOND)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._drain.join(5 * SECOND)


class Peer:
    """One device's raw connection: requests as dicts, replies as dicts, events skipped."""

    def __init__(self, url: str, token: str | None = None, *, source: str | None = None) -> None:
        self.url = url
        self.token = token
        self.source = source  # a loopback address to connect from (127.0.0.2, ...)
        self._ids = itertools.count(1)
        self._sent = 0
        self.events: list[dict[str, Any]] = []  # received while waiting for replies
        self.ws = self._open()

    def _open(self) -> ClientConnection:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        sock = None
        if self.source is not None:
            host, port = self.url.removeprefix("ws://").rsplit(":", 1)
            sock = socket.create_connection((host, int(port)), source_address=(self.source, 0))
        return connect(
            self.url,
            sock=sock,
            additional_headers=headers,
            compression=None,
            max_size=None,
            proxy=None,
            open_timeout=10 * SECOND,
            close_timeout=2 * SECOND,
            legacy=True,  # a plain connection object, closed by the tests
        )

    def reconnect(self) -> None:
        self.ws.close()
        self.ws = self._open()
        self._sent = 0

    def send(self, frame: str | bytes, *, text: bool | None = None) -> None:
        """Send one frame as it is (bytes with text=True: a text frame of raw bytes)."""
        if self._sent >= REQUESTS_PER_CONNECTION or self.closed:
            self.reconnect()
        self._sent += 1
        self.ws.send(frame, text=text)

    def reply(self, timeout: float = 10.0) -> dict[str, Any] | bytes:
        """The next frame that is not an event (those are kept in `events`): a JSON reply as a
        dict, or a binary frame."""
        while True:
            frame = self.ws.recv(timeout * SECOND)
            if isinstance(frame, bytes):
                return frame
            decoded: dict[str, Any] = json.loads(frame)
            if "event" not in decoded:
                return decoded
            self.events.append(decoded)

    def request(self, op: str, args: Any = None, request_id: int | None = None) -> dict[str, Any]:
        rid = next(self._ids) if request_id is None else request_id
        frame: dict[str, Any] = {"id": rid, "op": op}
        if args is not None:
            frame["args"] = args
        self.send(json.dumps(frame))
        reply = self.reply()
        assert isinstance(reply, dict) and reply.get("id") == rid, (op, reply)
        return reply

    def call(self, op: str, args: Any = None) -> Any:
        """A request that must succeed; its result."""
        reply = self.request(op, args)
        assert reply["ok"] is True, (op, args, reply)
        return reply["result"]

    def put_block(self, data: bytes) -> str:
        """Upload one block (raw codec); its hash."""
        digest = hashlib.sha256(data).digest()
        rid = next(self._ids)
        self.send(
            files_wire.encode_block_frame(files_wire.PUT, rid, digest, files_wire.Codec.RAW, data)
        )
        reply = self.reply()
        assert isinstance(reply, dict) and reply["ok"] is True, reply
        return digest.hex()

    @property
    def closed(self) -> bool:
        return self.ws.close_code is not None

    def close(self) -> None:
        self.ws.close()


def register(url: str, username: str, device: str = "test") -> dict[str, Any]:
    """A new account (over the protocol); its device session, with token."""
    peer = Peer(url)
    try:
        args = {"username": username, "password": PASSWORD, "device_name": device}
        session: dict[str, Any] = peer.call("auth.register", args)
        return session
    finally:
        peer.close()


def login(url: str, username: str, device: str) -> dict[str, Any]:
    peer = Peer(url)
    try:
        args = {"username": username, "password": PASSWORD, "device_name": device}
        session: dict[str, Any] = peer.call("auth.login", args)
        return session
    finally:
        peer.close()
