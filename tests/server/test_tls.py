"""TLS: `roost serve --tls-cert --tls-key`, and clients that trust it through `--ca`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.helpers import Home, ServerProcess


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[ServerProcess, Path]]:
    cert, key = self_signed(tmp_path)
    server = ServerProcess(
        tmp_path / "data", extra_args=("--tls-cert", str(cert), "--tls-key", str(key))
    )
    await server.start()
    try:
        yield server, cert
    finally:
        await server.kill()


async def test_clients_talk_to_a_tls_server_with_its_ca(
    tls_server: tuple[ServerProcess, Path], make_home: Callable[[str, str], Home]
) -> None:
    server, cert = tls_server
    assert server.url.startswith("wss://127.0.0.1:")
    alice = make_home("alice", server.url)
    await alice.ok("register", "alice", "--password-stdin", "--ca", str(cert),
                   stdin="correct horse battery\n")  # fmt: skip
    await alice.ok("profile", "set", "--bio", "over TLS")  # the CA is remembered
    assert json.loads((await alice.ok("profile", "show", "--json")).stdout)["bio"] == "over TLS"


async def test_untrusted_certificate_is_a_clear_error(
    tls_server: tuple[ServerProcess, Path], make_home: Callable[[str, str], Home]
) -> None:
    server, _ = tls_server
    bob = make_home("bob", server.url)
    refused = await bob.run("register", "bob", "--password-stdin", stdin="long enough pw\n")
    assert refused.code == 1
    assert refused.stderr.startswith(f"error: cannot trust {server.url}: ")
    assert "pass --ca FILE" in refused.stderr and refused.stderr.count("\n") == 1

    plain = make_home("plain", server.url.replace("wss://", "ws://"))
    result = await plain.run("register", "bob", "--password-stdin", stdin="long enough pw\n")
    assert result.code == 1 and result.stderr.startswith("error: cannot reach ws://")


async def test_serve_refuses_a_half_tls_setup(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    home = Home(tmp_path / "h", "ws://unused")
    result = await home.run("serve", "--port", "0", "--data", str(tmp_path / "d"),
                            "--tls-cert", str(cert))  # fmt: skip
    assert result.code == 1 and "--tls-cert and --tls-key go together" in result.stderr
    missing = str(tmp_path / "missing.pem")
    result = await home.run("serve", "--port", "0", "--data", str(tmp_path / "d"),
                            "--tls-cert", str(cert), "--tls-key", missing)  # fmt: skip
    assert result.code == 1 and result.stderr.startswith("error: cannot start the server:")
