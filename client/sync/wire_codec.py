"""Whether blocks are compressed on their way to the server.

zstd compresses text at ~0.3 GB/s per core here (bench/sync_profile.py), and the server and
every device that fetches a compressed block decompress it again to check its hash. Over the
internet that pays for itself many times; to a server on this machine or the local network,
whose link is faster than compressing, it only costs CPU (about a third of a big file's sync
on two cores). So blocks travel raw to a nearby server, compressed to a far one, unless
ROOST_SYNC_COMPRESS says `always` or `never`. Blocks already compressed (media, archives)
travel raw either way: their samples show it (`storage.content.blocks.encode_block`).
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

SETTINGS = ("auto", "always", "never")


def compress_blocks(server_url: str) -> bool:
    setting = os.environ.get("ROOST_SYNC_COMPRESS", "auto").strip().lower()
    if setting == "always":
        return True
    if setting == "never":
        return False
    return not nearby(server_url)  # "auto", and anything unknown


def nearby(server_url: str) -> bool:
    """A server on this machine or a private network (by its address, not resolved: a name
    counts as far, where compressing is the safe choice)."""
    host = urlsplit(server_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local
