"""File sync on loopback: Roost next to rsync (to a local rsync daemon) and, when installed,
two Syncthing instances.

  (a) a new file (default 1 GiB: half random bytes, half text) from device A to device B:
      seconds until B holds an identical copy;
  (b) 100 bytes inserted in the middle of that file: bytes sent by Roost (blocks on the wire,
      zstd) next to rsync's "Total bytes sent";
  (c) 10,000 files of 4 KiB: seconds from A's first scan until B holds them all;
  (d) peak RSS of the Roost client and server while a 4 GiB file syncs (A up, then B down).

Roost runs as a `roost serve` subprocess. For (a), devices A and B each run `roost sync DIR`
(watching), as the two Syncthing instances run, and the file is moved into A's folder; then
(a) is repeated cold with another new file: `roost sync DIR --once` on A, then on B (two
interpreter start-ups included). The other steps use `roost sync DIR --once`. rsync pushes to
an `rsync --daemon` on 127.0.0.1. Everything is loopback; every wait is bounded.

    python bench/sync.py                     # the full run (needs ~14 GiB of free disk)
    python bench/sync.py --size-mib 256 --big-mib 0 --small 2000    # a quick look
    python bench/sync.py --pairs 6           # just (a), Roost and Syncthing taking turns
    python bench/sync.py --s3                # (a) and (c): local blocks, then blocks in S3
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import syncthing_pair

PASSWORD = "correct horse battery"
ROOST = [str(Path(sys.executable).with_name("roost"))]
LISTENING = re.compile(r"listening on (ws://\S+)")
SENT = re.compile(r"sent (\d+) blocks?(?:, ([\d.,]+) (B|KiB|MiB|GiB))?")
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
RSYNC_SENT = re.compile(r"Total bytes sent: ([\d,]+)")
WORDS = (
    "the of and to in is was for on that with as by at from his her this which or be are an"
    " sync block file server client device folder share version commit journal roost data"
).split()


def make_file(path: Path, size: int, seed: int = 1) -> None:
    """Half random bytes, half text (lines reshuffled per MiB, so nothing dedups away)."""
    rng = random.Random(seed)
    lines = [" ".join(rng.choices(WORDS, k=12)) + "\n" for _ in range(24_000)]
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        written, mib = 0, 1 << 20
        while written < size // 2:
            n = min(mib, size // 2 - written)
            f.write(rng.randbytes(n))
            written += n
        while written < size:
            rng.shuffle(lines)
            chunk = "".join(lines).encode()[: min(mib, size - written)]
            f.write(chunk)
            written += len(chunk)
    os.replace(tmp, path)  # appears whole


def insert_middle(path: Path, extra: bytes) -> None:
    size = path.stat().st_size
    tmp = path.with_name(path.name + ".part")
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        remaining = size // 2
        while remaining:
            buf = src.read(min(16 << 20, remaining))
            dst.write(buf)
            remaining -= len(buf)
        dst.write(extra)
        shutil.copyfileobj(src, dst, 16 << 20)
    os.replace(tmp, path)


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while buf := f.read(16 << 20):
            h.update(buf)
    return h.hexdigest()


class Peak:
    """Samples the RSS of some processes every 20 ms."""

    def __init__(self) -> None:
        self.peaks: dict[str, int] = {}
        self._procs: dict[str, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, name: str, pid: int) -> None:
        self._procs[name] = psutil.Process(pid)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for name, proc in list(self._procs.items()):
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                self.peaks[name] = max(self.peaks.get(name, 0), rss)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Roost:
    def __init__(self, work: Path, *serve_args: str) -> None:
        self.work = work
        self.server = subprocess.Popen(
            [
                *ROOST,
                "serve",
                "--port",
                "0",
                "--data",
                str(work / "server"),
                "--registration",
                "open",
                *serve_args,
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.server.stderr is not None
        deadline = time.monotonic() + 30
        self.url = ""
        while time.monotonic() < deadline:
            line = self.server.stderr.readline()
            if m := LISTENING.search(line):
                self.url = m[1]
                break
        if not self.url:
            raise RuntimeError("roost serve did not start")
        threading.Thread(target=self.server.stderr.read, daemon=True).start()
        self.run("a", "register", "bench", "--password-stdin", stdin=PASSWORD + "\n")
        self.run("b", "login", "bench", "--device", "b", "--password-stdin", stdin=PASSWORD + "\n")

    def env(self, device: str) -> dict[str, str]:
        return {
            **os.environ,
            "ROOST_HOME": str(self.work / f"home-{device}"),
            "ROOST_SERVER": self.url,
        }

    def run(self, device: str, *args: str, stdin: str = "", peak: Peak | None = None) -> str:
        proc = subprocess.Popen(
            [*ROOST, *args],
            env=self.env(device),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if peak is not None:
            peak.watch("client", proc.pid)
        _, err = proc.communicate(stdin, timeout=3600)
        if proc.returncode:
            raise RuntimeError(f"roost {' '.join(args)} failed: {err}")
        return err

    def sync(self, device: str, peak: Peak | None = None) -> tuple[int, int]:
        err = self.run(device, "sync", str(self.work / f"ws-{device}"), "--once", peak=peak)
        m = SENT.search(err)  # "sent 1 block, 1.1 MiB": the blocks' own bytes, as people read
        if not m:
            return (0, 0)
        size = float(m[2].replace(",", "")) * UNITS[m[3]] if m[2] else 0
        return int(m[1]), int(size)

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(30)


class LivePair:
    """Devices A and B each running `roost sync DIR` (watching, as a person leaves it running):
    the same setting as the two Syncthing instances. `deliver` moves a file into A's folder
    and times until B holds it (downloads appear whole: written aside, renamed once durable)."""

    def __init__(self, roost: Roost, peak: Peak | None = None) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.server_pid = roost.server.pid
        self.cpu: dict[str, float] = {}  # CPU seconds (user + system) of the last delivery
        for device in ("b", "a"):
            (roost.work / f"ws-{device}").mkdir(exist_ok=True)
            proc = subprocess.Popen(
                [*ROOST, "sync", str(roost.work / f"ws-{device}")],
                env=roost.env(device),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            self.procs.append(proc)
            if peak is not None:
                peak.watch(f"client-{device}", proc.pid)
            assert proc.stderr is not None
            line = proc.stderr.readline()  # "syncing DIR; Ctrl-C to stop", after signing in
            if "syncing" not in line:
                raise RuntimeError(f"roost sync did not start: {line}")
            threading.Thread(target=proc.stderr.read, daemon=True).start()
        time.sleep(1.0)  # both first passes (empty folders) are over

    def deliver(self, staged: Path, into: Path, arrives: Path) -> float:
        size = staged.stat().st_size
        before = self.cpu_seconds()
        start = time.perf_counter()
        os.replace(staged, into)  # appears whole in A's folder
        while time.perf_counter() - start < 600:
            with contextlib.suppress(FileNotFoundError):
                if arrives.stat().st_size == size:
                    elapsed = time.perf_counter() - start
                    after = self.cpu_seconds()
                    self.cpu = {k: round(after[k] - before[k], 2) for k in after}
                    return elapsed
            time.sleep(0.01)
        raise RuntimeError(f"{arrives.name} did not reach device B within 600 s")

    def cpu_seconds(self) -> dict[str, float]:
        pids = {"server": self.server_pid, "b": self.procs[0].pid, "a": self.procs[1].pid}
        out = {}
        for name, pid in pids.items():
            times = psutil.Process(pid).cpu_times()
            out[name] = times.user + times.system
        return out

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            proc.wait(30)


class Rsync:
    def __init__(self, work: Path) -> None:
        self.dest = work / "rsync-dest"
        self.dest.mkdir()
        conf = work / "rsyncd.conf"
        conf.write_text(
            f"use chroot = false\nuid = {os.getuid()}\ngid = {os.getgid()}\n"
            f"[bench]\npath = {self.dest}\nread only = false\n"
        )
        self.port = syncthing_pair.free_port()
        self.proc = subprocess.Popen(
            [
                "rsync",
                "--daemon",
                "--no-detach",
                f"--port={self.port}",
                f"--config={conf}",
                "--address=127.0.0.1",
            ],
        )
        syncthing_pair.wait_port(self.port)

    def push(self, src: Path) -> tuple[float, int]:
        start = time.perf_counter()
        out = subprocess.run(
            ["rsync", "-a", "--stats", str(src), f"rsync://127.0.0.1:{self.port}/bench/"],
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
        ).stdout
        seconds = time.perf_counter() - start
        m = RSYNC_SENT.search(out)
        return seconds, int(m[1].replace(",", "")) if m else 0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Progressive(dict[str, object]):
    """Results that are also reported on stderr as they come, so a failed step loses none."""

    def __setitem__(self, key: str, value: object) -> None:
        print(f"  {key}: {value}", file=sys.stderr, flush=True)
        super().__setitem__(key, value)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure_a(roost: Roost, size: int, peak: Peak | None = None) -> dict[str, object]:
    """(a): a new file from A to B with both devices running `roost sync` (the headline, as
    Syncthing is measured); then another new file with `roost sync --once` on A, then on B,
    two cold processes one after the other (start-ups included)."""
    work = roost.work
    staged = work / "staged.bin"
    make_file(staged, size)
    pair = LivePair(roost, peak)
    try:
        live = pair.deliver(staged, work / "ws-a" / "big.bin", work / "ws-b" / "big.bin")
    finally:
        pair.stop()
    assert digest(work / "ws-b" / "big.bin") == digest(work / "ws-a" / "big.bin"), "B differs"
    make_file(work / "ws-a" / "cold.bin", size, seed=5)
    t_up = timed(lambda: roost.sync("a", peak))
    t_down = timed(lambda: roost.sync("b", peak))
    assert digest(work / "ws-b" / "cold.bin") == digest(work / "ws-a" / "cold.bin"), "B differs"
    return {
        "roost_s": round(live, 2),
        "roost_cpu_s": pair.cpu,
        "roost_cold_s": round(t_up + t_down, 2),
        "roost_up_s": round(t_up, 2),
        "roost_down_s": round(t_down, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--big-mib", type=int, default=4096, help="(d); 0 skips it")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--only",
        choices=("a", "b", "c", "d"),
        help="run just (a), (b), (c) or (d), Roost only, to iterate fast",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="run just (a), N rounds of Roost and Syncthing taking turns on the same new file",
    )
    parser.add_argument(
        "--s3",
        action="store_true",
        help="run just (a) and (c), Roost only, with blocks in the data folder and then in S3"
        " (a throwaway SeaweedFS, tests/seaweed.py), in the same run",
    )
    args = parser.parse_args()
    if args.s3:
        local_beside_s3(args)
        return
    if args.pairs:
        pairs(args.pairs, args.size_mib << 20)
        return
    if args.only:
        only(args)
        return
    results: dict[str, object] = Progressive()
    work = Path(tempfile.mkdtemp(prefix="roost-bench-sync-"))
    roost = Roost(work)
    rsync = Rsync(work)
    try:
        src = work / "ws-a" / "big.bin"
        peak = Peak()
        peak.watch("server", roost.server.pid)
        new_file = measure_a(roost, args.size_mib << 20, peak)
        rs_seconds, _ = rsync.push(src)
        results["a"] = {**new_file, "rsync_s": round(rs_seconds, 2)}
        # (b) 100 bytes inserted mid-file
        blocks, sent, insert_s, up_s = measure_b(roost, src)
        shutil.copy(src, work / "rsync-src.bin")
        os.replace(work / "rsync-src.bin", work / "big.bin")
        _, rs_sent = rsync.push(work / "big.bin")
        results["b"] = {
            "roost_blocks": blocks,
            "roost_bytes": sent,
            "roost_s": round(insert_s, 2),
            "roost_up_s": round(up_s, 2),
            "rsync_bytes": rs_sent,
        }
        # (c) many small files
        small = work / "ws-a" / "small"
        small.mkdir()
        rng = random.Random(3)
        for i in range(args.small):
            (small / f"f{i:05d}.txt").write_bytes(rng.randbytes(4096))
        t_small = timed(lambda: (roost.sync("a"), roost.sync("b")))
        assert len(list((work / "ws-b" / "small").iterdir())) == args.small
        rs_small, _ = rsync.push(small)
        results["c"] = {
            "files": args.small,
            "roost_s": round(t_small, 2),
            "rsync_s": round(rs_small, 2),
        }
        # Syncthing, (a) and (c)
        results["syncthing"] = syncthing_pair.measure(work, src, args.small)
        peak.stop()
        results["peak_rss_mib_during_a"] = {k: v >> 20 for k, v in peak.peaks.items()}
        # (d) peak RSS with a 4 GiB file
        if args.big_mib:
            (work / "ws-a" / "big.bin").unlink()
            (work / "ws-a" / "cold.bin").unlink()
            shutil.rmtree(work / "ws-a" / "small")
            roost.sync("a")
            roost.sync("b")
            make_file(work / "ws-a" / "huge.bin", args.big_mib << 20, seed=2)
            peak = Peak()
            peak.watch("server", roost.server.pid)
            t_big = timed(lambda: (roost.sync("a", peak), roost.sync("b", peak)))
            peak.stop()
            results["d"] = {
                "mib": args.big_mib,
                "seconds": round(t_big, 1),
                **{f"{k}_peak_rss_mib": v >> 20 for k, v in peak.peaks.items()},
            }
    finally:
        roost.stop()
        rsync.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    a, b, c = results["a"], results["b"], results["c"]
    assert isinstance(a, dict) and isinstance(b, dict) and isinstance(c, dict)
    print(
        f"(a) new {args.size_mib} MiB file A->B: roost {a['roost_s']} s with both devices"
        f" syncing; {a['roost_cold_s']} s with `sync --once` on A then B (up"
        f" {a['roost_up_s']} + down {a['roost_down_s']}); rsync daemon {a['rsync_s']} s"
    )
    print(
        f"(b) 100 B inserted mid-file: roost sent {b['roost_blocks']} blocks, "
        f"{b['roost_bytes']} bytes in {b['roost_s']} s (A {b['roost_up_s']} s, its settle"
        f" included, then B); rsync sent {b['rsync_bytes']} bytes"
    )
    print(f"(c) {c['files']} files of 4 KiB: roost {c['roost_s']} s, rsync {c['rsync_s']} s")
    print(f"syncthing: {results['syncthing']}")
    print(f"peak RSS during (a)-(c), MiB: {results['peak_rss_mib_during_a']}")
    if "d" in results:
        print(f"(d) {results['d']}")


def pairs(rounds: int, size: int) -> None:
    """(a) side by side, again and again: each round makes a new file, and Roost (both devices
    running `roost sync`) and Syncthing each move it A -> B, taking turns at going first. Both
    stay running throughout, so each is measured with the other idle beside it. One run of (a)
    moves by a second or more with the machine's state (the disk's writeback above all); the
    medians of many rounds, and how many rounds each wins, do not."""
    if shutil.which("syncthing") is None:
        raise SystemExit("--pairs compares with Syncthing: install it first")
    work = Path(tempfile.mkdtemp(prefix="roost-bench-pairs-"))
    (work / "roost").mkdir()
    roost = Roost(work / "roost")
    live: LivePair | None = None
    rows: list[tuple[float, float]] = []
    cpu: list[tuple[float, float]] = []  # CPU seconds of all the processes of each tool
    st_cpu: dict[str, float] = {}
    try:
        live = LivePair(roost)
        with syncthing_pair.started_pair(work) as (st_a, st_b):
            for i in range(rounds):
                src = work / "src.bin"
                make_file(src, size, seed=100 + i)
                name = f"round{i}.bin"
                times: dict[str, float] = {}
                for tool in ("roost", "syncthing") if i % 2 == 0 else ("syncthing", "roost"):
                    if tool == "roost":
                        staged = roost.work / "staged.bin"
                        shutil.copyfile(src, staged)
                        a, b = roost.work / "ws-a" / name, roost.work / "ws-b" / name
                        times[tool] = live.deliver(staged, a, b)
                        assert digest(b) == digest(src), "B differs"
                    else:
                        before = st_a.cpu_seconds(), st_b.cpu_seconds()
                        times[tool] = syncthing_pair.send_big(st_a, st_b, src, name)
                        st_cpu = {
                            "a": round(st_a.cpu_seconds() - before[0], 2),
                            "b": round(st_b.cpu_seconds() - before[1], 2),
                        }
                rows.append((times["roost"], times["syncthing"]))
                cpu.append((sum(live.cpu.values()), sum(st_cpu.values())))
                print(
                    f"round {i + 1}: roost {times['roost']:.2f} s (CPU s {live.cpu}),"
                    f" syncthing {times['syncthing']:.2f} s (CPU s {st_cpu}),"
                    f" ratio {times['roost'] / times['syncthing']:.2f}",
                    flush=True,
                )
                for folder in (roost.work / "ws-a", st_a.data):  # both sides delete it
                    (folder / name).unlink()
                src.unlink()
                time.sleep(5)  # the deletions reach B and settle before the next round
    finally:
        if live is not None:
            live.stop()
        roost.stop()
        shutil.rmtree(work, ignore_errors=True)
    ours, theirs = (statistics.median(col) for col in zip(*rows, strict=True))
    our_cpu, their_cpu = (statistics.median(col) for col in zip(*cpu, strict=True))
    wins = sum(r <= s for r, s in rows)
    print(
        f"(a) {size >> 20} MiB, {rounds} rounds: roost median {ours:.2f} s, syncthing median"
        f" {theirs:.2f} s, ratio {ours / theirs:.2f}; roost as fast or faster in {wins} of"
        f" {rounds}; CPU seconds of all processes, median: roost {our_cpu:.1f},"
        f" syncthing {their_cpu:.1f}"
    )


def local_beside_s3(args: argparse.Namespace) -> None:
    """(a) and (c) with blocks in the data folder, then with `--blocks s3://…` on a SeaweedFS
    on loopback (SQLite either way), each on a fresh server."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.seaweed import SeaweedServer

    seaweed = SeaweedServer().start()
    try:
        os.environ.update(seaweed.env())
        bucket = seaweed.create_bucket()
        for where in ("local", "s3"):
            work = Path(tempfile.mkdtemp(prefix="roost-bench-sync-"))
            extra = ("--blocks", seaweed.url(bucket, "bench")) if where == "s3" else ()
            roost = Roost(work, *extra)
            assert seaweed.proc is not None
            weed = psutil.Process(seaweed.proc.pid)
            weed_cpu = sum(weed.cpu_times()[:2])
            try:
                (work / "ws-a").mkdir()
                a = measure_a(roost, args.size_mib << 20)
                a_weed = sum(weed.cpu_times()[:2]) - weed_cpu
                small = work / "ws-a" / "small"
                small.mkdir()
                rng = random.Random(3)
                for i in range(args.small):
                    (small / f"f{i:05d}.txt").write_bytes(rng.randbytes(4096))
                t_up = timed(lambda roost=roost: roost.sync("a"))
                t_down = timed(lambda roost=roost: roost.sync("b"))
                assert len(list((work / "ws-b" / "small").iterdir())) == args.small
                print(
                    f"{where}: (a) new {args.size_mib} MiB file A->B {a['roost_s']} s watching,"
                    f" cold {a['roost_cold_s']} s (up {a['roost_up_s']} + down"
                    f" {a['roost_down_s']}); (c) {args.small} files of 4 KiB"
                    f" {t_up + t_down:.2f} s (up {t_up:.2f} + down {t_down:.2f});"
                    f" SeaweedFS CPU during (a) {a_weed:.1f} s, roost CPU during (a)"
                    f" {a['roost_cpu_s']}",
                    flush=True,
                )
            finally:
                roost.stop()
                shutil.rmtree(work, ignore_errors=True)
    finally:
        seaweed.stop()


def measure_b(roost: Roost, src: Path) -> tuple[int, int, float, float]:
    """(b): 100 bytes inserted mid-file on A: (blocks sent, their bytes, seconds until B has
    it, of which A's `sync --once`, the rewritten file's settle wait included)."""
    insert_middle(src, b"#" * 100)
    started = time.perf_counter()
    blocks, sent = roost.sync("a")
    up = time.perf_counter() - started
    roost.sync("b")
    took = time.perf_counter() - started
    assert digest(roost.work / "ws-b" / src.name) == digest(src), "B differs"
    return blocks, sent, took, up


def measure_d(roost: Roost, size: int) -> dict[str, object]:
    """(d): peak RSS while a big file syncs, both ways it can: `roost sync --once` on A, then
    on B; and streamed, with both devices running `roost sync` (B fetches while A uploads)."""
    work = roost.work
    make_file(work / "ws-a" / "huge.bin", size, seed=2)
    peak = Peak()
    peak.watch("server", roost.server.pid)
    seconds = timed(lambda: (roost.sync("a", peak), roost.sync("b", peak)))
    peak.stop()
    once = {k: v >> 20 for k, v in peak.peaks.items()}
    staged = work / "staged.bin"
    make_file(staged, size, seed=3)
    peak = Peak()
    peak.watch("server", roost.server.pid)
    pair = LivePair(roost, peak)
    try:
        live = pair.deliver(staged, work / "ws-a" / "huge2.bin", work / "ws-b" / "huge2.bin")
    finally:
        pair.stop()
        peak.stop()
    return {
        "once_peak_rss_mib": once,
        "once_s": round(seconds, 1),
        "live_peak_rss_mib": {k: v >> 20 for k, v in peak.peaks.items()},
        "live_s": round(live, 1),
    }


def only(args: argparse.Namespace) -> None:
    """One scenario, Roost alone: (a) a new file A -> B, or (c) many small files A -> B."""
    work = Path(tempfile.mkdtemp(prefix="roost-bench-sync-"))
    roost = Roost(work)
    try:
        (work / "ws-a").mkdir()
        if args.only == "a":
            print(f"(a) new {args.size_mib} MiB file A->B: {measure_a(roost, args.size_mib << 20)}")
        elif args.only == "b":
            src = work / "ws-a" / "big.bin"
            make_file(src, args.size_mib << 20)
            roost.sync("a")
            roost.sync("b")
            time.sleep(2)  # the new file has rested on both sides
            blocks, sent, took, up = measure_b(roost, src)
            print(
                f"(b) 100 B inserted mid-file: sent {blocks} blocks, {sent} bytes;"
                f" {took:.2f} s until B has it (A {up:.2f} s, its settle included, then B)"
            )
        elif args.only == "d":
            print(f"(d) {args.big_mib} MiB: {measure_d(roost, args.big_mib << 20)}")
        else:
            small = work / "ws-a" / "small"
            small.mkdir()
            rng = random.Random(3)
            for i in range(args.small):
                (small / f"f{i:05d}.txt").write_bytes(rng.randbytes(4096))
            t_up = timed(lambda: roost.sync("a"))
            t_down = timed(lambda: roost.sync("b"))
            assert len(list((work / "ws-b" / "small").iterdir())) == args.small
            print(
                f"(c) {args.small} files of 4 KiB: roost {t_up + t_down:.2f} s "
                f"(up {t_up:.2f} + down {t_down:.2f})"
            )
    finally:
        roost.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
