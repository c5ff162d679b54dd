"""`roost serve` behind the command line: settings become a ServerConfig, then the server runs
in the foreground until Ctrl-C or SIGTERM.

The CLI hands over the values of its flags (already merged with ROOST_* variables and the
config file); a value refused here names its flag (BadSetting), and a server that cannot start
says why in one line (CommandFailed).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, overload

from protocol.chat import MAX_MESSAGE_CHARS
from protocol.sizes import format_size, parse_size
from protocol.social import MAX_POST_CHARS
from server import logs
from server.accounts.registration import MODES
from server.config import Limits, ServerConfig, parse_listen_address
from server.entry import BadSetting, CommandFailed, default_data_dir
from storage.content.malloc import tune_malloc
from storage.engines import where
from storage.errors import Unavailable

if TYPE_CHECKING:
    from server.app import RoostServer

__all__ = ["ServerConfig", "build_config", "check_logging", "run"]


def check_logging(log_format: str, log_level: str) -> None:
    if log_format not in logs.FORMATS:
        raise BadSetting("--log-format", f"must be one of {', '.join(logs.FORMATS)}")
    if log_level not in logs.LEVELS:
        raise BadSetting("--log-level", f"must be one of {', '.join(logs.LEVELS)}")


def build_config(
    *,
    host: str,
    port: int,
    data: Path | None,
    db: str | None,
    blocks: str | None,
    bus: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    celebrity_threshold: int,
    post_cache: int,
    presence_online_delay: float,
    presence_offline_delay: float,
    max_frame: str,
    max_text: int | None,
    max_post_text: int | None,
    max_chat_text: int | None,
    rate: float,
    burst: int,
    quota: str | None,
    max_file_size: str | None,
    max_uncommitted: str,
    max_entries: str,
    send_queue_bytes: str,
    reply_queue_bytes: str,
    connections_per_address: int,
    anonymous_per_address: int,
    max_anonymous_frame: str,
    login_timeout: float,
    login_failures: int,
    registrations_per_hour: int,
    trusted_proxy: list[str],
    metrics_listen: str | None,
    registration: str,
    public_url: str | None = None,
) -> ServerConfig:
    """The server's configuration from `roost serve`'s settings, each one checked."""
    if registration not in MODES:
        raise BadSetting("--registration", f"must be one of {', '.join(MODES)}")
    metrics_host, metrics_port = None, 0
    if metrics_listen is not None:
        try:
            metrics_host, metrics_port = parse_listen_address(metrics_listen)
        except ValueError as exc:
            raise BadSetting("--metrics-listen", str(exc)) from None
    if db is not None and not db.startswith(("postgresql://", "postgres://")):
        raise BadSetting(
            "--db", "only postgresql://USER@HOST:PORT/DB (without --db: SQLite in --data)"
        )
    if blocks is not None:
        from storage.content.s3_location import BadLocation, parse_s3_url

        try:
            parse_s3_url(blocks)
        except BadLocation as exc:
            raise BadSetting("--blocks", str(exc)) from None
    if bus is not None:
        from server.redis_bus import check_url

        if db is None:
            raise CommandFailed("--bus needs --db postgresql://…: SQLite is one process's database")
        try:
            check_url(bus)
        except ValueError as exc:
            raise CommandFailed(str(exc)) from None
    if (tls_cert is None) != (tls_key is None):
        raise CommandFailed("--tls-cert and --tls-key go together")
    limits = Limits(
        max_request_bytes=_size("--max-frame", max_frame, at_least=1 << 10, at_most=64 << 20),
        ops_per_second=rate,
        ops_burst=burst,
        max_post_chars=_text_limit(max_post_text, max_text, MAX_POST_CHARS),
        max_message_chars=_text_limit(max_chat_text, max_text, MAX_MESSAGE_CHARS),
        quota_bytes=_size("--quota", quota),
        max_file_bytes=_size("--max-file-size", max_file_size),
        max_uncommitted_bytes=_size("--max-uncommitted", _unless_none(max_uncommitted)),
        max_entries=_count("--max-entries", max_entries),
        send_queue_bytes=_size(
            "--send-queue-bytes", send_queue_bytes, at_least=64 << 10, at_most=1 << 30
        ),
        reply_queue_bytes=_size(
            "--reply-queue-bytes", reply_queue_bytes, at_least=1 << 20, at_most=1 << 30
        ),
        connections_per_address=connections_per_address,
        anonymous_connections_per_address=anonymous_per_address,
        anonymous_frame_bytes=_size(
            "--max-anonymous-frame", max_anonymous_frame, at_least=4 << 10, at_most=64 << 20
        ),
        login_timeout=login_timeout,
        login_failures=login_failures,
        registrations_per_hour=registrations_per_hour,
    )
    return ServerConfig(
        # ~ is expanded here too: a config file or a quoted variable passes it through.
        data_dir=data.expanduser() if data else default_data_dir(),
        host=host,
        port=port,
        tls_cert=tls_cert.expanduser() if tls_cert else None,
        tls_key=tls_key.expanduser() if tls_key else None,
        trusted_proxies=_addresses("--trusted-proxy", trusted_proxy),
        public_url=_public_url(public_url),
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        celebrity_threshold=celebrity_threshold,
        post_cache=post_cache,
        limits=limits,
        registration=registration,
        database_url=db,
        blocks_url=blocks,
        bus_url=bus,
        presence_online_delay=presence_online_delay,
        presence_offline_delay=presence_offline_delay,
    )


def run(
    config: ServerConfig,
    *,
    log_format: str,
    log_level: str,
    warnings: Iterable[str] = (),
    sources: str | None = None,
    note: Callable[[str], None],
    on_ready: Callable[[RoostServer], None] | None = None,
) -> None:
    """Run the server until it is stopped; `note` gets the "listening on" line (on a text
    log), `on_ready` the running server."""
    tune_malloc()  # blocks reuse heap memory instead of faulting in fresh pages each time
    logs.configure(log_format, log_level)
    log = logging.getLogger("roost.server")
    for warning in warnings:
        log.warning(warning)
    if sources:
        log.info(sources)
    from server.app import run as run_server
    from storage.content.s3_blocks import S3Unreachable

    if config.blocks_url is not None:  # before anything is logged: a bucket we cannot use stops
        _check_bucket(config.blocks_url)
    else:  # a folder whose blocks are in a bucket, started without --blocks
        from storage.content.stores import refuse_a_forgotten_bucket

        refuse_a_forgotten_bucket(config.data_dir, None)

    def ready(server: RoostServer) -> None:
        db = config.database_url
        line = (
            f"Roost listening on {config.scheme}://{config.host}:{server.port}"
            f" (data in {config.data_dir}"
            + (f", database {where(db, config.database_path)})" if db else ")")
        )
        if log_format == "json":  # every line on stderr stays JSON
            log.info(line)
        else:
            note(line)
        if on_ready is not None:
            on_ready(server)

    try:
        asyncio.run(run_server(config, on_ready=ready))
    except (OSError, ssl.SSLError) as exc:  # port taken, unreadable certificate, ...
        raise CommandFailed(f"cannot start the server: {exc}") from None
    except Unavailable as exc:  # only at start: once serving, ops answer `unavailable`
        reason = _unreachable(config.database_url, exc)
        raise CommandFailed(f"cannot start the server: {reason}") from None
    except S3Unreachable as exc:  # --blocks: bad bucket, credentials or endpoint
        raise CommandFailed(f"cannot start the server: {exc}") from None


def _check_bucket(url: str) -> None:
    from storage.content.s3_blocks import S3BlockStore, S3Unreachable
    from storage.content.s3_location import parse_s3_url

    try:
        S3BlockStore(parse_s3_url(url)).check()
    except S3Unreachable as exc:
        raise CommandFailed(f"cannot start the server: {exc}") from None


def _unreachable(url: str | None, exc: Unavailable) -> str:
    """`database unreachable at HOST:PORT/DB: why`, never the URL's password."""
    if url is None:  # SQLite in the data folder: its own message says what went wrong
        return str(exc)
    from storage.postgres import describe, unreachable_reason

    return f"database unreachable at {describe(url)}: {unreachable_reason(exc)}"


@overload
def _size(flag: str, text: str, *, at_least: int = 0, at_most: int | None = None) -> int: ...
@overload
def _size(flag: str, text: None, *, at_least: int = 0, at_most: int | None = None) -> None: ...
def _size(
    flag: str, text: str | None, *, at_least: int = 0, at_most: int | None = None
) -> int | None:
    if text is None:
        return None
    try:
        value = parse_size(text)
    except ValueError as exc:
        raise BadSetting(flag, str(exc)) from None
    if value < at_least:
        raise BadSetting(flag, f"must be at least {format_size(at_least)}")
    if at_most is not None and value > at_most:  # each connection may buffer this much
        raise BadSetting(flag, f"must be at most {format_size(at_most)}")
    return value


def _public_url(text: str | None) -> str | None:
    """--public-url: http(s)://HOST[:PORT][/PREFIX], the start of every public link's URL."""
    if text is None or not text.strip():
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise BadSetting(
            "--public-url", "use http(s)://HOST[:PORT][/PREFIX], as people outside reach it"
        )
    return text.strip().rstrip("/")


def _unless_none(text: str) -> str | None:
    return None if text.strip().lower() == "none" else text


def _count(flag: str, text: str) -> int | None:
    if _unless_none(text) is None:
        return None
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise BadSetting(flag, f"{text!r}: write a whole number, or none") from None
    if value < 1:
        raise BadSetting(flag, "must be at least 1")
    return value


def _addresses(flag: str, given: list[str]) -> frozenset[str]:
    try:
        return frozenset(str(ipaddress.ip_address(a.strip("[]"))) for a in given)
    except ValueError as exc:
        raise BadSetting(flag, str(exc)) from None


def _text_limit(own: int | None, shared: int | None, ceiling: int) -> int:
    """--max-post-text / --max-chat-text, else --max-text up to what the protocol allows."""
    return own or min(shared or ceiling, ceiling)
