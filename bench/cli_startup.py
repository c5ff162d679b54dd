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
post <= 200 ms. The CPU time (user + system, median) is printed beside: on a shared machine
it moves less than the wall time.

    python bench/cli_startup.py            # 21 runs of each
    python bench/cli_startup.py --runs 41
    python bench/cli_startup.py --roost /tmp/a/bin/roost --roost /tmp/b/bin/roost   # two installs,
                                           # interleaved in one run (e.g. before and after a change)
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
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


def default_roost() -> list[str]:
    script = Path(sys.executable).with_name("roost")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def start_server(
    roost: list[str], folder: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    log = (folder / "server.log").open("wb")
    data = str(folder / "data")
    server = subprocess.Popen(
        [*roost, "serve", "--port", "0", "--data", data, "--registration", "open"],
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


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one run: on a shared machine the CPU time
    moves less than the wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument(
        "--roost",
        action="append",
        help="a roost script to measure (repeat to compare installs); default: the one beside"
        " this interpreter",
    )
    args = parser.parse_args()
    installs = [[path] for path in args.roost] if args.roost else [default_roost()]
    for package in PACKAGES:  # this checkout as installed: bytecode on disk
        compileall.compile_dir(ROOT / package, quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(COLUMNS="120")
    env.pop("ROOST_SERVER", None)
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], env)
    }
    with tempfile.TemporaryDirectory(prefix="roost-bench-cli-") as tmp:
        folder = Path(tmp)
        server, url = start_server(installs[0], folder, env)
        try:
            for n, roost in enumerate(installs):
                home = {**env, "ROOST_HOME": str(folder / f"home{n}")}
                subprocess.run(
                    [*roost, "register", f"bench{n}", "--server", url, "--password-stdin"],
                    input=b"bench-password\n", env=home, check=True, capture_output=True,
                )  # fmt: skip
                subprocess.run([*roost, "post", "first"], env=home, check=True, capture_output=True)
                # an install by its folder (.../NAME/bin/roost), when there are several
                label = f" [{Path(roost[0]).parent.parent.name}]" if len(installs) > 1 else ""
                commands[f"roost --help{label}"] = ([*roost, "--help"], home)
                commands[f"roost timeline --json{label}"] = (
                    [*roost, "timeline", "--json", "--limit", "20"],
                    home,
                )
                commands[f"roost post TEXT{label}"] = (
                    [*roost, "post", "a post from the start-up bench"],
                    home,
                )
            for command, command_env in commands.values():  # warm the page cache once
                timed(command, command_env)
            samples: dict[str, list[float]] = {name: [] for name in commands}
            cpu: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.runs):
                for name, (command, command_env) in commands.items():
                    wall, used = timed(command, command_env)
                    samples[name].append(wall)
                    cpu[name].append(used)
        finally:
            server.terminate()
            server.wait(timeout=15)
    base = statistics.median(samples["python -c pass"])
    print(f"{args.runs} runs each, interleaved; load average {os.getloadavg()[0]:.2f}")
    width = max(len(name) for name in samples)
    print(
        f"{'command':<{width}} {'median ms':>10} {'min-max ms':>14} {'x pass':>7}"
        f" {'cpu ms':>7}  target"
    )
    for name, values in samples.items():
        median = statistics.median(values)
        target = next((ms for key, ms in TARGETS_MS.items() if name.startswith(key)), None)
        verdict = "" if target is None else f"<= {target} ms: {'yes' if median <= target else 'NO'}"
        span = f"{min(values):.0f}-{max(values):.0f}"
        used = statistics.median(cpu[name])
        print(
            f"{name:<{width}} {median:>10.1f} {span:>14} {median / base:>6.2f}x"
            f" {used:>7.0f}  {verdict}"
        )


if __name__ == "__main__":
    main()
