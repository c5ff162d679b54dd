"""A real, throwaway PostgreSQL for tests: one cluster per session, one empty database per test.

The cluster is made with the server's own binaries (initdb, pg_ctl, psql) in a temporary
folder, listens on 127.0.0.1 at a free port (and on a unix socket inside that folder), and
trusts local connections only. fsync stays on, so a commit a test sees acknowledged is one
PostgreSQL made durable. It is stopped and its folder removed when pytest exits, whatever
the tests did.

initdb refuses to run as root; when the tests run as root, the cluster runs as the `postgres`
system user (which Debian's `postgresql` package creates) in a folder that user owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPERUSER = "roost"
INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are needed for these tests:"
    " install them with `apt-get install postgresql` (Debian/Ubuntu)"
)
# Debian keeps initdb and pg_ctl off PATH, in a folder per major version.
_DEBIAN_BINARIES = Path("/usr/lib/postgresql")


def find_binaries() -> Path:
    """The folder holding initdb, pg_ctl and psql: PATH first, else Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(on_path).resolve().parent
    versions = sorted(
        (p for p in _DEBIAN_BINARIES.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise FileNotFoundError(INSTALL_HINT)
    return versions[-1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresCluster:
    """One initdb'd cluster, started on construction's `start()` and removed by `stop()`."""

    def __init__(self) -> None:
        self.bin = find_binaries()
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="roost-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        self._lock = threading.Lock()
        self._server_template: str | None = None
        self.running = False

    # -- lifecycle --

    def start(self) -> PostgresCluster:
        try:
            self._own_folder()
            self._run(
                "initdb",
                "--pgdata",
                str(self.data),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-instructions",
            )
            self._start_on_a_free_port()
        except BaseException:
            self.stop()
            raise
        return self

    def _own_folder(self) -> None:
        if not self.as_root:
            return
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise FileNotFoundError(
                "the tests run as root, and initdb refuses root: the `postgres` system user is"
                " missing; " + INSTALL_HINT
            ) from None
        # mkdtemp made the folder 0700 for root: hand it to postgres, who writes the data in it.
        os.chown(self.folder, owner.pw_uid, owner.pw_gid)

    def _start_on_a_free_port(self) -> None:
        # A free port can be taken between our probe and the server's bind: try a few.
        for _attempt in range(5):
            self.port = free_port()
            self._write_settings()
            started = self._run(
                "pg_ctl",
                "--pgdata",
                str(self.data),
                "--log",
                str(self.log),
                "--wait",
                "--timeout",
                "60",
                "start",
                check=False,
            )
            if started.returncode == 0:
                self.running = True
                return
        raise RuntimeError(f"PostgreSQL did not start; its log:\n{self._log_tail()}")

    def _write_settings(self) -> None:
        # Appended, so the last value wins when a retry picks another port.
        settings = (
            f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
            f"unix_socket_directories = '{self.folder}'\n"
            "fsync = on\nsynchronous_commit = on\nmax_connections = 200\n"
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(settings)

    def stop(self) -> None:
        if self.running:
            # immediate: the data is thrown away next, no need for a shutdown checkpoint.
            self._run("pg_ctl", "--pgdata", str(self.data), "--mode", "immediate", "stop")
            self.running = False
        shutil.rmtree(self.folder, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server as an operator or a crash would take it away (fast: every backend is
        terminated, clients see their connections close); the data stays for `resume`. For a
        test's private cluster only: every database of the cluster goes with it."""
        self._run("pg_ctl", "--pgdata", str(self.data), "--mode", "fast", "--wait", "stop")
        self.running = False

    def resume(self) -> None:
        """Start the paused server again, on the same port."""
        started = self._run(
            "pg_ctl", "--pgdata", str(self.data), "--log", str(self.log), "--wait",
            "--timeout", "60", "start", check=False,
        )  # fmt: skip
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start again; its log:\n{self._log_tail()}")
        self.running = True

    def require_password(self, role: str, password: str) -> None:
        """A login role that must give its password over TCP (every other role is trusted),
        for tests of a refused login."""
        self.sql(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        hba = self.data / "pg_hba.conf"
        rule = f"host all {role} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(rule + hba.read_text())  # the first matching line wins
        self._run("pg_ctl", "--pgdata", str(self.data), "reload")

    # -- databases --

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str = "template0") -> str:
        """A fresh database copied from `template`: by default empty (template0, so nothing a
        test put in template1 leaks)."""
        with self._lock:
            name = f"test_{os.getpid()}_{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def server_template(self) -> str:
        """A database migrated to the server's newest schema, made once per cluster, for tests
        to copy: copying it is much faster than each test's server migrating from nothing."""
        with self._lock:
            if self._server_template is None:
                name = "roost_server_template"
                self.sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
                # Its own thread and event loop: a test's loop may already be running here.
                failed: list[BaseException] = []
                worker = threading.Thread(target=_migrate, args=(self.url(name), failed))
                worker.start()
                worker.join()
                if failed:
                    raise failed[0]
                self._server_template = name
            return self._server_template

    def drop_database(self, name: str) -> None:
        # FORCE: a test that leaked a connection must not keep its database alive.
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement through psql over TCP; its unaligned output."""
        done = subprocess.run(
            [
                str(self.bin / "psql"),
                "--no-psqlrc",
                "--quiet",
                "--tuples-only",
                "--no-align",
                "--set",
                "ON_ERROR_STOP=1",
                "--dbname",
                self.url(database),
                "--command",
                statement,
            ],
            capture_output=True,
            text=True,
            env=_clean_env(),
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql: {statement!r} failed: {done.stderr.strip()}")
        return done.stdout

    # -- plumbing --

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=_clean_env(),
            cwd=self.folder,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
            )
        return done

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"


def _migrate(url: str, failed: list[BaseException]) -> None:
    from storage.engines import server_database

    async def migrate() -> None:
        db = await server_database(url, Path("unused")).open()  # opening migrates it
        await db.close()

    try:
        asyncio.run(migrate())
    except BaseException as exc:  # handed to the caller's thread
        failed.append(exc)


def _clean_env() -> dict[str, str]:
    """The environment without PG* variables, so a developer's settings do not redirect us."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


@contextlib.contextmanager
def private_cluster() -> Iterator[PostgresCluster]:
    """A cluster of a test's own, which it may stop and start (the session's is shared)."""
    try:
        cluster = PostgresCluster()
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


_cluster: PostgresCluster | None = None
_cluster_lock = threading.Lock()


def session_cluster(config: pytest.Config) -> PostgresCluster:
    """The session's cluster, started on first use and stopped when pytest unconfigures
    (after the last test, failed or not). Missing PostgreSQL fails the test, never skips it."""
    global _cluster
    with _cluster_lock:
        if _cluster is None:
            try:
                cluster = PostgresCluster()
            except FileNotFoundError as exc:
                pytest.fail(str(exc), pytrace=False)
            try:
                cluster.start()
            except FileNotFoundError as exc:
                pytest.fail(str(exc), pytrace=False)
            _cluster = cluster
            config.add_cleanup(_stop_session_cluster)
        return _cluster


def _stop_session_cluster() -> None:
    global _cluster
    with _cluster_lock:
        if _cluster is not None:
            _cluster.stop()
            _cluster = None
