"""Two Syncthing instances on loopback for bench/sync.py (see docs/PERFORMANCE notes): one
shared folder, watcher on, no discovery, relays or compression. `measure` reports the time
for a new big file and for many small files to reach the second instance."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import psutil

TIMEOUT = 600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


class Instance:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.data = home / "data"
        self.data.mkdir(parents=True)
        subprocess.run(
            [
                "syncthing",
                "generate",
                f"--home={home}",
                "--no-default-folder",
                "--skip-port-probing",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.id = subprocess.run(
            ["syncthing", "serve", f"--home={home}", "--device-id"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        self.gui_port, self.listen_port = free_port(), free_port()
        self.key = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None

    def configure(self, peer: Instance) -> None:
        path = self.home / "config.xml"
        tree = ET.parse(path)
        root = tree.getroot()
        gui = root.find("gui")
        assert gui is not None
        gui.set("tls", "false")
        _text(gui, "address", f"127.0.0.1:{self.gui_port}")
        _text(gui, "apikey", self.key)
        options = root.find("options")
        assert options is not None
        for name, value in {
            "listenAddress": f"tcp://127.0.0.1:{self.listen_port}",
            "globalAnnounceEnabled": "false",
            "localAnnounceEnabled": "false",
            "relaysEnabled": "false",
            "natEnabled": "false",
            "urAccepted": "-1",
            "autoUpgradeIntervalH": "0",
            "startBrowser": "false",
            "crashReportingEnabled": "false",
            "setLowPriority": "false",
        }.items():
            _text(options, name, value)
        for d in list(root.findall("device")):
            root.remove(d)
        for dev_id, addr in (
            (self.id, "dynamic"),
            (peer.id, f"tcp://127.0.0.1:{peer.listen_port}"),
        ):
            dev = ET.SubElement(
                root, "device", id=dev_id, name=dev_id[:7], compression="never", introducer="false"
            )
            _text(dev, "address", addr)
        folder = ET.SubElement(
            root,
            "folder",
            id="bench",
            label="bench",
            path=str(self.data),
            type="sendreceive",
            rescanIntervalS="3600",
            fsWatcherEnabled="true",
            fsWatcherDelayS="1",
        )
        for dev_id in (self.id, peer.id):
            ET.SubElement(folder, "device", id=dev_id)
        tree.write(path)

    def start(self) -> None:
        env = {**os.environ, "STNOUPGRADE": "1"}
        self.proc = subprocess.Popen(
            ["syncthing", "serve", f"--home={self.home}", "--no-browser", "--no-restart"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.gui_port, 60)

    def connected(self, peer: Instance) -> bool:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.gui_port}/rest/system/connections",
            headers={"X-API-Key": self.key},
        )
        import json

        with urllib.request.urlopen(req, timeout=5) as r:
            data = json.load(r)
        return bool(data.get("connections", {}).get(peer.id, {}).get("connected"))

    def cpu_seconds(self) -> float:
        """User + system CPU so far of this instance: `syncthing serve` and the processes it
        starts (it runs the real work in a child it monitors)."""
        assert self.proc is not None
        main = psutil.Process(self.proc.pid)
        return sum(sum(p.cpu_times()[:2]) for p in [main, *main.children(recursive=True)])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)


def _text(parent: ET.Element, tag: str, value: str) -> None:
    el = parent.find(tag)
    if el is None:
        el = ET.SubElement(parent, tag)
    el.text = value


def _until(check: object, what: str) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < TIMEOUT:
        if check():  # type: ignore[operator]
            return time.perf_counter() - start
        time.sleep(0.02)
    raise RuntimeError(f"syncthing: timed out waiting for {what}")


@contextlib.contextmanager
def started_pair(work: Path) -> Iterator[tuple[Instance, Instance]]:
    """Two instances sharing one folder, connected; stopped on the way out."""
    a, b = Instance(work / "st-a"), Instance(work / "st-b")
    try:
        a.configure(b)
        b.configure(a)
        a.start()
        b.start()
        _until(lambda: a.connected(b) and b.connected(a), "the two instances to connect")
        yield a, b
    finally:
        a.stop()
        b.stop()


def send_big(a: Instance, b: Instance, big_source: Path, name: str = "big.bin") -> float:
    """Seconds from a copy of `big_source` appearing whole in A's folder until B holds it."""
    size = big_source.stat().st_size
    staging = a.home / "staging.bin"
    shutil.copyfile(big_source, staging)
    target = b.data / name
    os.replace(staging, a.data / name)  # appears whole
    return _until(lambda: target.exists() and target.stat().st_size == size, "the big file")


def measure(work: Path, big_source: Path, small: int) -> dict[str, object] | str:
    if shutil.which("syncthing") is None:
        return "skipped: syncthing not installed"
    with started_pair(work) as (a, b):
        big_s = send_big(a, b, big_source)
        folder = a.home / "small"
        folder.mkdir()
        rng = random.Random(4)
        for i in range(small):
            (folder / f"f{i:05d}.txt").write_bytes(rng.randbytes(4096))
        os.replace(folder, a.data / "small")
        dest = b.data / "small"
        small_s = _until(
            lambda: dest.is_dir() and sum(1 for _ in dest.iterdir()) >= small, "the small files"
        )
        return {"a_s": round(big_s, 2), "c_s": round(small_s, 2)}
