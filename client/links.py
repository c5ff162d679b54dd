"""`PublicLinks`: make, list and remove public links to files (a URL anyone can download one
version of a file from, with a plain HTTP client or a browser)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from client.core import RoostClient
from client.errors import ClientError
from client.files import Located, RemoteFiles
from protocol import links as wire

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_expiry(text: str) -> int:
    """Seconds in `7d`, `12h`, `30m`, `90s` or `2w`; ClientError saying which forms work."""
    m = _DURATION.fullmatch(text.strip().lower())
    seconds = int(m[1]) * _UNIT_SECONDS[m[2]] if m else 0
    if seconds < 1:
        raise ClientError(f"bad --expires {text!r}: use a number and a unit, like 7d, 12h or 30m")
    if seconds > wire.MAX_EXPIRY_SECONDS:
        raise ClientError(f"bad --expires {text!r}: at most ten years (or leave it out)")
    return seconds


def link_url(server: str, url_path: str) -> str:
    """The link's URL on the server this client talks to: its WebSocket address with http(s),
    the same host and port (a server behind a proxy that knows better says so: --public-url)."""
    parts = urlsplit(server)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}{url_path}"


class PublicLinks:
    def __init__(self, client: RoostClient) -> None:
        self.client = client

    async def create(
        self, path: str, *, expires_in_s: int | None = None, password: str | None = None
    ) -> tuple[wire.CreatedLink, str]:
        """The new link and its URL."""
        where = await RemoteFiles(self.client).locate_inside(path)
        created: wire.CreatedLink = await self.client.call(
            "link.create",
            wire.CreateLink(where.namespace.id, where.path, expires_in_s, password),
        )
        server = self.client.home.require_account().server
        return created, created.url or link_url(server, created.url_path)

    async def list(self) -> list[tuple[wire.Link, str]]:
        """Each link with its file's path as a workspace shows it (a share's under its name)."""
        found: wire.Links = await self.client.call("link.list", wire.ListLinks())
        spaces = {ns.id: ns for ns in await RemoteFiles(self.client).namespaces()}
        shown = []
        for link in found.links:
            ns = spaces.get(link.namespace_id)
            shown.append((link, Located(ns, "").shown(link.path) if ns else link.path))
        return shown

    async def remove(self, which: str) -> wire.RemovedLink:
        removed: wire.RemovedLink = await self.client.call("link.remove", wire.RemoveLink(which))
        return removed
