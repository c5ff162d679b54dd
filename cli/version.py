"""`roost --version`: Roost's version and, for each library with a compiled fast path, its
version and whether the compiled code is what runs (a pure-Python fallback works, only much
slower: a sync that looks broken usually is one)."""

from __future__ import annotations

import importlib
import platform
import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class FastPath:
    library: str  # the distribution's name, as pip spells it
    version: str
    compiled: bool | None  # None: it could not be imported
    detail: str  # what runs, in a few words


def roost_version() -> str:
    try:
        return metadata.version("roost")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _pyfastcdc() -> tuple[bool, str]:
    with warnings.catch_warnings():  # as storage.content.chunker imports it
        warnings.simplefilter("ignore")
        import pyfastcdc

    compiled = pyfastcdc.FastCDC.__module__.startswith("pyfastcdc.cy")
    return compiled, "Cython chunker" if compiled else "pure Python, ~150x slower: reinstall it"


def _zstandard() -> tuple[bool, str]:
    import zstandard

    zstd = ".".join(str(n) for n in zstandard.ZSTD_VERSION)
    return zstandard.backend in ("cext", "cffi"), f"{zstandard.backend} backend, zstd {zstd}"


def _argon2() -> tuple[bool, str]:
    from argon2 import low_level

    bindings = _version("argon2-cffi-bindings")
    return low_level.ffi is not None, f"C argon2 via argon2-cffi-bindings {bindings}"


def _extension(module: str, what: str) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        try:
            found = importlib.import_module(module)
        except ImportError:
            return False, f"no {what}: pure Python"
        compiled = str(getattr(found, "__file__", "")).endswith((".so", ".pyd"))
        return compiled, what if compiled else f"no {what}: pure Python"

    return check


CHECKS: list[tuple[str, Callable[[], tuple[bool, str]]]] = [
    ("pyfastcdc", _pyfastcdc),
    ("zstandard", _zstandard),
    ("argon2-cffi", _argon2),
    ("msgspec", _extension("msgspec._core", "C encoder and decoder")),
    ("websockets", _extension("websockets.speedups", "C frame masking")),
    ("watchfiles", _extension("watchfiles._rust_notify", "Rust file watcher")),
]


def fast_paths() -> list[FastPath]:
    found = []
    for library, check in CHECKS:
        try:
            compiled: bool | None
            compiled, detail = check()
        except ImportError as exc:
            compiled, detail = None, f"cannot import it: {exc}"
        found.append(FastPath(library, _version(library), compiled, detail))
    return found


def version_lines() -> list[str]:
    paths = fast_paths()
    width = max(len(p.library) for p in paths)
    vwidth = max(len(p.version) for p in paths)
    lines = [
        f"roost {roost_version()}",
        f"python {platform.python_version()} ({platform.python_implementation()}),"
        f" sqlite {sqlite3.sqlite_version}",
    ]
    for p in paths:
        state = {True: "compiled", False: "SLOW", None: "MISSING"}[p.compiled]
        lines.append(f"{p.library.ljust(width)}  {p.version.ljust(vwidth)}  {state}: {p.detail}")
    return lines
