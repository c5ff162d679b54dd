"""Server settings and limits; `roost serve` options map onto these."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from storage.server.expiry import IDEMPOTENCY_AGE_MS, UPLOAD_AGE_MS

DEFAULT_PORT = 7447


@dataclass(frozen=True)
class Limits:
    # The socket closes (1009) above this: a 4 MiB block (raw when zstd does not help) + header.
    max_frame_bytes: int = (4 << 20) + (64 << 10)
    max_request_bytes: int = 64 << 10  # a JSON request above this gets a too_large reply
    # Per user: all of a user's connections share one bucket (anonymous ones have their own).
    ops_per_second: float = 100.0  # sustained
    ops_burst: int = 200  # momentary
    max_post_chars: int = 280  # at most protocol.social.MAX_POST_CHARS
    max_message_chars: int = 4000  # at most protocol.chat.MAX_MESSAGE_CHARS
    quota_bytes: int | None = None  # per user: see server.quota for what counts; None: none
    max_file_bytes: int | None = None  # one file version or attachment; None: no limit
    # Bytes of blocks a user uploaded that no commit used yet (server.quota.uncommitted_cap
    # raises it to max_file_bytes and lowers it to quota_bytes); None: no limit.
    max_uncommitted_bytes: int | None = 8 << 30
    # Kept file versions (deletions and folders too) in namespaces a user owns, plus their
    # attachments: each costs a few rows whatever its size; None: no limit.
    max_entries: int | None = 1_000_000
    max_staged_blocks: int = 100_000  # per user, staged (files.stage) and not committed yet
    # How long uploads and staged lists wait for a commit, and idempotency keys for a replay,
    # before they are forgotten (storage.server.expiry).
    upload_age_ms: int = UPLOAD_AGE_MS
    idempotency_age_ms: int = IDEMPOTENCY_AGE_MS
    # A connection further behind than either is disconnected (it catches up by cursor on
    # reconnect): frames queued for it (replies and events), bytes of events queued for it.
    send_queue_frames: int = 1000
    send_queue_bytes: int = 1 << 20
    # Unsent replies (and room held for replies being made: a block download holds a whole
    # block) past which the server reads no more of that connection's requests until it has
    # read its replies: a client that asks without reading slows itself, not the server.
    reply_queue_bytes: int = 8 << 20
    password_hashes_at_once: int = 2  # argon2id uses 64 MiB and one core per hash
    # Per client address (an IPv6 address: its /64; see server.addresses), 0 meaning no cap:
    # connections open at once, and of those, ones not logged in. A connection without a token
    # may only register or log in: its frames are small and it is closed after login_timeout.
    connections_per_address: int = 128
    anonymous_connections_per_address: int = 16
    anonymous_frame_bytes: int = 64 << 10
    login_timeout: float = 60.0  # seconds
    # Logins and registrations (server.accounts.failed_attempts): the failed logins an address
    # may make on one account before each further attempt waits (per address, 4x; per account,
    # 10x), and the accounts one address may register in an hour (0: no limit).
    login_failures: int = 5
    registrations_per_hour: int = 10


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # PostgreSQL (postgresql://USER@HOST:PORT/DB); None: SQLite in data_dir
    database_url: str | None = None
    # Blocks in a bucket (s3://BUCKET[/PREFIX]?endpoint=…, storage.content.stores); None: in
    # data_dir/blocks
    blocks_url: str | None = None
    # Redis (redis://HOST:PORT/DB) between the processes serving one Roost; None: one process
    bus_url: str | None = None
    limits: Limits = field(default_factory=Limits)
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    shutdown_grace: float = 10.0  # how long in-flight ops may take to finish on shutdown
    expire_every: float = 600.0  # seconds between passes that forget expired records
    tls_cert: Path | None = None  # PEM certificate chain; with tls_key, serve wss://
    tls_key: Path | None = None
    # Peers (reverse proxies) whose X-Forwarded-For header names the client's address.
    trusted_proxies: frozenset[str] = frozenset()
    # --metrics-listen: /metrics (and /healthz) on a listener of their own, and no longer on
    # the main port; None: /metrics on the main port.
    metrics_host: str | None = None
    metrics_port: int = 0
    # Who may register (server.accounts.registration): "invite" (a code from an admin), "open" or
    # "closed". The first account on a new server may register whatever this says.
    registration: str = "invite"
    # --public-url: how people outside reach this server (https://files.example.org), for the
    # URLs of public links; None: clients build them from the address they connect to.
    public_url: str | None = None

    @property
    def scheme(self) -> str:
        return "wss" if self.tls_cert else "ws"

    # Authors with more followers than this are not fanned out at post time (merged on read).
    celebrity_threshold: int = 10_000
    # Posts kept in memory (server.social.services.HOT_POSTS), about 0.8 KiB each.
    post_cache: int = 50_000
    # "hybrid" (fan-out on write + read-time merge) or "pull" (fan-out on read: the baseline
    # the timeline benchmark compares against).
    timeline_strategy: str = "hybrid"
    # chat: presence is announced after this long connected / this long after the last device
    # left; sends arriving within chat_commit_window share one transaction (group commit).
    presence_online_delay: float = 3.0
    presence_offline_delay: float = 2.0
    chat_commit_window: float = 0.001
    chat_batch_limit: int = 512

    @property
    def database_path(self) -> Path:
        return self.data_dir / "roost.db"


def parse_listen_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets: `[::1]:9100`; port 0 picks a free one) as a
    host and a port, or ValueError saying what to write."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: write HOST:PORT, e.g. 127.0.0.1:9100 or [::1]:9100")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{text!r}: {host!r} in brackets is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"{text!r}: put an IPv6 address in brackets, e.g. [::1]:9100")
    return host, int(port_text)
