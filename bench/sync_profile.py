"""Where the CPU of a big file's sync goes: device A, the server and device B, profiled.

Runs (a) of `bench/sync.py` (a new file moved into A's watched folder until B holds it) with
py-spy sampling each of the three processes (every thread; a C call counts for the Python line
that made it), and prints
per process its CPU seconds per GiB and the share of samples in each kind of work: hashing,
compression, chunking, verifying, the WebSocket, disk writes and reads, the event loop.

    pip install py-spy
    python bench/sync_profile.py                 # 1 GiB, half random bytes, half text
    python bench/sync_profile.py --size-mib 512 --top 15
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync import LivePair, Roost, digest, make_file

# Frame substrings, first match wins: the kind of work a sample's innermost frames do.
KINDS = [
    ("sha256", ("sha256", "SHA256", "sha2", "_hashlib", "openssl_sha")),
    ("zstd compress", ("ZSTD_compress", "compress (", "ZstdCompressor", "encode_block")),
    ("zstd decompress", ("ZSTD_decompress", "decompress", "decode_block")),
    ("chunking (FastCDC)", ("fastcdc", "cut_buf", "cut_stream", "_chunks")),
    ("websocket frames", ("websockets", "apply_mask", "_mask", "protocol.py", "frames.py")),
    ("disk write/fsync", ("write", "fsync", "syncfs", "fdatasync", "SequentialFile", "pwrite")),
    ("disk read", ("read", "pread", "readinto")),
    ("database", ("sqlite", "aiosqlite", "storage/server", "storage/sqlite")),
    ("msgspec/json", ("msgspec", "json")),
    ("event loop", ("asyncio", "selectors", "epoll")),
]


def kind_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames[-8:]):  # the innermost frames say what the time is spent on
        for kind, marks in KINDS:
            if any(m in frame for m in marks):
                return kind
    return "other"


def summarise(raw: Path, top: int) -> tuple[collections.Counter[str], collections.Counter[str]]:
    kinds: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        kinds[kind_of(stack)] += n
        leaves[stack.split(";")[-1][:100]] += n
    return kinds, collections.Counter(dict(leaves.most_common(top)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--top", type=int, default=8, help="innermost frames listed per process")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument(
        "--warm", type=int, default=0, help="files delivered (and deleted) before the profiled one"
    )
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("needs py-spy: pip install py-spy")
    work = Path(tempfile.mkdtemp(prefix="roost-bench-profile-"))
    roost = Roost(work)
    pair: LivePair | None = None
    try:
        pair = LivePair(roost)
        for i in range(args.warm):  # as `bench/sync.py --pairs` runs round after round
            make_file(work / "staged.bin", args.size_mib << 20, seed=100 + i)
            name = f"warm{i}.bin"
            took = pair.deliver(work / "staged.bin", work / "ws-a" / name, work / "ws-b" / name)
            print(f"warm-up {i + 1}: {took:.2f} s, CPU s {pair.cpu}", flush=True)
            (work / "ws-a" / name).unlink()
            time.sleep(5)
        staged = work / "staged.bin"
        make_file(staged, args.size_mib << 20, seed=7)
        pids = {
            "device A": pair.procs[1].pid,
            "server": roost.server.pid,
            "device B": pair.procs[0].pid,
        }
        record = [spy, "record", "--nonblocking", "--threads", "--rate", str(args.rate)]
        spies = {
            name: subprocess.Popen(
                [*record, "--pid", str(pid), "--format", "raw", "--output", f"{work}/{pid}.txt"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in pids.items()
        }
        time.sleep(1.0)  # the samplers are attached
        procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        before = {name: p.cpu_times() for name, p in procs.items()}
        seconds = pair.deliver(staged, work / "ws-a" / "big.bin", work / "ws-b" / "big.bin")
        after = {name: p.cpu_times() for name, p in procs.items()}
        time.sleep(0.5)
        for proc in spies.values():
            proc.send_signal(signal.SIGINT)
        for proc in spies.values():
            proc.wait(60)
        keep = Path("/tmp/roost-sync-profile")
        keep.mkdir(exist_ok=True)
        for pid in pids.values():
            shutil.copy(work / f"{pid}.txt", keep / f"{pid}.txt")
        assert digest(work / "ws-b" / "big.bin") == digest(work / "ws-a" / "big.bin"), "B differs"
        gib = args.size_mib / 1024
        cpu = {"device A": pair.cpu["a"], "server": pair.cpu["server"], "device B": pair.cpu["b"]}
        print(f"{args.size_mib} MiB new file A -> B in {seconds:.2f} s (slower while profiled)")
        print("CPU seconds per GiB: " + ", ".join(f"{k} {v / gib:.2f}" for k, v in cpu.items()))
        for name, pid in pids.items():
            kinds, leaves = summarise(work / f"{pid}.txt", args.top)
            total = sum(kinds.values()) or 1
            user = (after[name].user - before[name].user) / gib
            system = (after[name].system - before[name].system) / gib
            split = f"{user:.2f} user, {system:.2f} sys"
            print(f"\n{name}: {cpu[name] / gib:.2f} CPU s per GiB ({split})")
            for kind, n in kinds.most_common():
                print(f"  {100 * n / total:5.1f}%  {kind}")
            print("  innermost frames:")
            for leaf, n in leaves.items():
                print(f"    {100 * n / total:5.1f}%  {leaf}")
    finally:
        if pair is not None:
            pair.stop()
        roost.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
