"""Who is connecting: a client's address (behind a trusted reverse proxy, the one its
`X-Forwarded-For` header names) and the caps on connections open at once per address.

Limits are kept per address *key*: an IPv4 address, or the /64 network of an IPv6 one (one
household or server is usually given a whole /64, so counting single IPv6 addresses would let
one machine take 2^64 turns).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

FORWARDED_FOR = "X-Forwarded-For"


def client_address(peer: str, forwarded_for: str | None, trusted_proxies: Collection[str]) -> str:
    """The address a request came from. Only a peer that is a trusted proxy may say whom it
    forwards for; the nearest address in its header that is not itself a trusted proxy is the
    client (a client can write anything at the left end of the header, never at the right)."""
    if peer not in trusted_proxies or not forwarded_for:
        return peer
    for entry in reversed(forwarded_for.split(",")):
        hop = _plain(entry.strip())
        if hop is None:
            return peer  # a garbled header: trust the proxy's own address, nothing made up
        if hop not in trusted_proxies:
            return hop
    return peer


def address_key(address: str) -> str:
    """What per-address limits count: the address, or an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _plain(hop: str) -> str | None:
    """One X-Forwarded-For entry as a bare address, or None if it is not one."""
    try:
        return str(ipaddress.ip_address(hop.strip("[]")))
    except ValueError:
        return None


class ConnectionCaps:
    """Connections open at once per address key: at most `per_address` in all, of which at
    most `anonymous_per_address` not logged in. 0 means no cap."""

    def __init__(self, per_address: int, anonymous_per_address: int) -> None:
        self._per_address = per_address
        self._anonymous_per_address = anonymous_per_address
        self._open: dict[str, int] = {}
        self._anonymous: dict[str, int] = {}

    def admit(self, key: str, *, anonymous: bool) -> str | None:
        """Count one more connection from `key`, or say why not (a line for the client)."""
        total = self._open.get(key, 0)
        if self._per_address and total >= self._per_address:
            return (
                f"too many connections from your address (at most {self._per_address});"
                " close some and try again"
            )
        if anonymous:
            waiting = self._anonymous.get(key, 0)
            if self._anonymous_per_address and waiting >= self._anonymous_per_address:
                return (
                    "too many connections from your address that are not logged in"
                    f" (at most {self._anonymous_per_address}); try again shortly"
                )
            self._anonymous[key] = waiting + 1
        self._open[key] = total + 1
        return None

    def release(self, key: str, *, anonymous: bool) -> None:
        """A connection `admit` counted has ended."""
        _decrement(self._open, key)
        if anonymous:
            _decrement(self._anonymous, key)

    def open_from(self, key: str) -> int:
        return self._open.get(key, 0)

    def __len__(self) -> int:
        """Address keys with a connection open (the maps hold nothing else)."""
        return len(self._open)


def _decrement(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
