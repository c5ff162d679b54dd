"""What people type as a server address, turned into the WebSocket URL the client dials.

`ws://` and `wss://` are kept; `http://` becomes `ws://` and `https://` becomes `wss://` (the
address a browser shows for the same server); a bare `host:port` (or `host`) means `ws://`.
Anything else is refused with one line that says which forms work.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from client.errors import ClientError

DEFAULT_PORT = 7447  # what `roost serve` listens on, for a bare host without a port
_SCHEMES = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}
_FORMS = "use ws://HOST:PORT, wss://HOST, http(s)://HOST or a bare HOST:PORT"
_HOST = re.compile(r"\A(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)\Z")
_PATH = re.compile(r"\A(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?\Z")


def why_unreachable(url: str, exc: BaseException) -> str:
    """Why a connection to `url` failed, in a few words a person can act on (an exception
    such as a reset carries no text of its own)."""
    if isinstance(exc, ConnectionResetError) and url.startswith("wss://"):
        return "it dropped the TLS handshake; for a server without TLS use ws://"
    if isinstance(exc, ConnectionRefusedError):
        return "nothing is listening there"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


class BadServerUrl(ClientError):
    """A server address none of the accepted forms can read."""


def server_url(text: str) -> str:
    """The ws:// or wss:// URL for what was typed; BadServerUrl (one line) if it is none."""
    typed = text.strip()
    if not typed:
        raise BadServerUrl(f"no server address given; {_FORMS}")
    if any(c.isspace() or not c.isprintable() for c in typed):
        raise BadServerUrl(f"bad server address {typed!r}: it has spaces or control characters")
    if "://" in typed:
        scheme, rest = typed.split("://", 1)
        ws_scheme = _SCHEMES.get(scheme.lower())
        if ws_scheme is None:
            raise BadServerUrl(f"bad server address {typed!r}: {scheme}:// is not served; {_FORMS}")
    else:
        ws_scheme, rest = "ws", typed
    try:
        parts = urlsplit("//" + rest)
        port = parts.port
    except ValueError:
        raise BadServerUrl(f"bad server address {typed!r}: the port must be 1-65535") from None
    netloc = parts.netloc
    if "@" in netloc:
        raise BadServerUrl(f"bad server address {typed!r}: leave out the user name")
    host = netloc[: netloc.index("]") + 1] if netloc.startswith("[") else netloc.split(":")[0]
    if not _HOST.fullmatch(host):
        raise BadServerUrl(f"bad server address {typed!r}: no host name in it; {_FORMS}")
    if port == 0:
        raise BadServerUrl(f"bad server address {typed!r}: the port must be 1-65535")
    if parts.query or parts.fragment or not _PATH.fullmatch(parts.path):
        raise BadServerUrl(f"bad server address {typed!r}: only a host, a port and a path")
    if port is None and "://" not in typed:
        port = DEFAULT_PORT  # a bare host means a roost serve on its usual port
    where = f"{host.lower()}:{port}" if port is not None else host.lower()
    return f"{ws_scheme}://{where}{parts.path.rstrip('/')}"
