"""Byte sizes as people write and read them: `10GiB`, `512 MB`, `4096`."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")
_MAX = 1 << 62  # beyond any disk; keeps sums inside SQLite's 64-bit integers


def parse_size(text: str) -> int:
    """Bytes in `text` ("10GiB", "1.5 GB", "4096"); ValueError with a one-line reason."""
    m = _SIZE.fullmatch(text)
    unit = m[2].lower() if m else ""
    if m is None or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a size; write e.g. 4096, 500MB or 10GiB")
    try:
        value = int(float(m[1]) * _UNITS[unit]) if "." in m[1] else int(m[1]) * _UNITS[unit]
    except OverflowError:  # a float past 1e308
        value = _MAX + 1
    if value > _MAX:
        raise ValueError(f"{text!r} is too large")
    return value


def format_size(n: int) -> str:
    """`n` bytes for people: 0 B, 512 B, 1.5 KiB, 10.0 GiB."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            break
    return f"{value:.1f} {unit}"
