"""Start-up of the `roost` command: process start to exit, for the commands people run most.

Measured, in one run and interleaved (so a busy moment hits every row alike):
- `python -c pass`: what any Python program costs to start here (the baseline);
- `roost --help`;
- `roost timeline --json` and `roost post TEXT`, logged in, against a real `roost serve`
  started here in a temporary folder (loopback only).

Each command is the installed `roost` script beside this interpreter, run with compiled
bytecode (as an installed package has it: the tree is compiled first, and
PYTHONDONTWRITEBYTECODE is dropped for the children). Prints the median of N with the range,
and the ratio to `python -c pass`. Targets (issue #23): --help and timeline --json <= 150 ms,
post <= 200 ms.

    python bench/cli_startup.py            # 21 runs of each
    python bench/cli_startup.py --runs 41
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cli", "client", "protocol", "storage", "server", "tui")
LISTENING = re.compile(r"Roost listening on (ws://\S+)")
TARGETS_MS = {"roost --help": 150, "roost timeline --json": 150, "roost post TEXT": 200}


def roost() -> list[str]:
    script = Path(sys.executable).with_name("roost")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def start_server(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [
            *roost(),
            "serve",
            "--port",
            "0",
            "--data",
            str(folder / "data"),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=log,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if found := LISTENING.search((folder / "server.log").read_text()):
            return server, found.group(1)
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    raise SystemExit(f"the server did not start: {(folder / 'server.log').read_text()}")


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    for package in PACKAGES:  # as installed: bytecode on disk
        compileall.compile_dir(ROOT / package, quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="roost-bench-cli-") as tmp:
        folder = Path(tmp)
        env.update(ROOST_HOME=str(folder / "home"), COLUMNS="120")
        env.pop("ROOST_SERVER", None)
        server, url = start_server(folder, env)
        try:
            subprocess.run(
                [*roost(), "register", "bench", "--server", url, "--password-stdin"],
                input=b"bench-password\n", env=env, check=True, capture_output=True,
            )  # fmt: skip
            subprocess.run([*roost(), "post", "first"], env=env, check=True, capture_output=True)
            commands = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "roost --help": [*roost(), "--help"],
                "roost timeline --json": [*roost(), "timeline", "--json", "--limit", "20"],
                "roost post TEXT": [*roost(), "post", "a post from the start-up bench"],
            }
            for command in commands.values():  # warm the page cache once
                timed(command, env)
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.runs):
                for name, command in commands.items():
                    samples[name].append(timed(command, env))
        finally:
            server.terminate()
            server.wait(timeout=15)
    base = statistics.median(samples["python -c pass"])
    print(f"{args.runs} runs each, interleaved; load average {os.getloadavg()[0]:.2f}")
    print(f"{'command':<24} {'median ms':>10} {'min-max ms':>14} {'x pass':>7}  target")
    for name, values in samples.items():
        median = statistics.median(values)
        target = TARGETS_MS.get(name)
        verdict = "" if target is None else f"<= {target} ms: {'yes' if median <= target else 'NO'}"
        span = f"{min(values):.0f}-{max(values):.0f}"
        print(f"{name:<24} {median:>10.1f} {span:>14} {median / base:>6.2f}x  {verdict}")


if __name__ == "__main__":
    main()
