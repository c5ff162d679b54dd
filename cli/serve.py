"""roost serve: run the server in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, overload

import platformdirs
import typer

from cli import output
from cli.configured import print_settings, setting_warnings, sources_line
from cli.options import AsJson
from client.errors import ClientError
from protocol.chat import MAX_MESSAGE_CHARS
from protocol.sizes import format_size, parse_size
from protocol.social import MAX_POST_CHARS
from storage.errors import Unavailable

if TYPE_CHECKING:
    from server.app import RoostServer


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 7447,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Folder for the database (and blocks); default: the platform data folder.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Keep the server's database in PostgreSQL: postgresql://USER@HOST:PORT/DB"
            " (a password from PGPASSWORD or ~/.pgpass). Default: SQLite in --data. Blocks"
            " stay in --data either way.",
        ),
    ] = None,
    blocks: Annotated[
        str | None,
        typer.Option(
            "--blocks",
            metavar="URL",
            help="Keep file blocks in an S3-compatible bucket:"
            " s3://BUCKET/PREFIX?endpoint=https://HOST:PORT&region=NAME (prefix and region"
            " optional), credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
            " Default: in --data.",
        ),
    ] = None,
    bus: Annotated[
        str | None,
        typer.Option(
            "--bus",
            metavar="URL",
            help="Serve one Roost from several processes: redis://HOST:PORT/DB (Redis or"
            " Valkey) carries events, presence, rate limits and cache invalidation between"
            " them. Needs --db postgresql://…; each process keeps its own --data.",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate (chain): serve wss://.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="PEM private key for --tls-cert.")
    ] = None,
    celebrity_threshold: Annotated[
        int,
        typer.Option(
            "--celebrity-threshold",
            min=0,
            help="Authors with more followers than this are merged into timelines at read time"
            " instead of being copied into each follower's timeline.",
        ),
    ] = 10_000,
    post_cache: Annotated[
        int,
        typer.Option(
            "--post-cache",
            min=0,
            help="Posts kept in memory for timelines, about 0.8 KiB each (0: none).",
        ),
    ] = 50_000,
    presence_online_delay: Annotated[
        float,
        typer.Option(
            "--presence-online-delay",
            min=0,
            max=600,
            help="Seconds connected before a user is shown online (a quick reconnect shows"
            " nothing).",
        ),
    ] = 3.0,
    presence_offline_delay: Annotated[
        float,
        typer.Option(
            "--presence-offline-delay",
            min=0,
            max=600,
            help="Seconds after a user's last device left before they are shown offline.",
        ),
    ] = 2.0,
    max_frame: Annotated[
        str, typer.Option("--max-frame", help="Largest JSON request, e.g. 64KiB.")
    ] = "64KiB",
    max_text: Annotated[
        int | None,
        typer.Option(
            "--max-text",
            min=1,
            help=f"Characters in a post or a chat message (at most {MAX_POST_CHARS} and"
            f" {MAX_MESSAGE_CHARS}: a larger value leaves the other as it is).",
        ),
    ] = None,
    max_post_text: Annotated[
        int | None,
        typer.Option("--max-post-text", min=1, max=MAX_POST_CHARS, help="Characters in a post."),
    ] = None,
    max_chat_text: Annotated[
        int | None,
        typer.Option(
            "--max-chat-text", min=1, max=MAX_MESSAGE_CHARS, help="Characters in a chat message."
        ),
    ] = None,
    rate: Annotated[
        float,
        typer.Option("--rate", min=0.01, help="Requests per second per user, sustained."),
    ] = 100.0,
    burst: Annotated[
        int, typer.Option("--burst", min=1, help="Requests per user at once, above --rate.")
    ] = 200,
    quota: Annotated[
        str | None,
        typer.Option("--quota", help="Storage per user, e.g. 10GiB (default: no quota)."),
    ] = None,
    max_file_size: Annotated[
        str | None,
        typer.Option("--max-file-size", help="Largest file or attachment, e.g. 2GiB."),
    ] = None,
    max_uncommitted: Annotated[
        str,
        typer.Option(
            "--max-uncommitted",
            help="Uploaded bytes per user that no commit used yet, e.g. 8GiB; further uploads"
            " are refused until they are committed or expire (24 h). At least --max-file-size,"
            " at most --quota; 'none': no limit.",
        ),
    ] = "8GiB",
    max_entries: Annotated[
        str,
        typer.Option(
            "--max-entries",
            help="File versions (deletions and folders too) and attachments kept per user,"
            " whatever their size; 'none': no limit.",
        ),
    ] = "1000000",
    send_queue_bytes: Annotated[
        str,
        typer.Option(
            "--send-queue-bytes",
            help="Events waiting for one connection, e.g. 1MiB: a device further behind is"
            " disconnected and catches up when it reconnects.",
        ),
    ] = "1MiB",
    reply_queue_bytes: Annotated[
        str,
        typer.Option(
            "--reply-queue-bytes",
            help="Replies waiting for one connection, e.g. 8MiB: past it the server reads no"
            " more of that connection's requests until the client has read its replies.",
        ),
    ] = "8MiB",
    connections_per_address: Annotated[
        int,
        typer.Option(
            "--connections-per-address",
            min=0,
            help="Connections open at once from one address (IPv6: one /64); 0: no cap.",
        ),
    ] = 128,
    anonymous_per_address: Annotated[
        int,
        typer.Option(
            "--anonymous-per-address",
            min=0,
            help="Of those, connections not logged in (they may only register or log in);"
            " 0: no cap.",
        ),
    ] = 16,
    max_anonymous_frame: Annotated[
        str,
        typer.Option(
            "--max-anonymous-frame",
            help="Largest frame from a connection that is not logged in, e.g. 64KiB.",
        ),
    ] = "64KiB",
    login_timeout: Annotated[
        float,
        typer.Option(
            "--login-timeout",
            min=1.0,
            help="Seconds a connection that is not logged in may stay open.",
        ),
    ] = 60.0,
    login_failures: Annotated[
        int,
        typer.Option(
            "--login-failures",
            min=1,
            help="Failed logins an address may make on one account before each further try"
            " waits (1 s, doubling up to 15 min); an address may fail 4x this on all"
            " accounts, and an account 10x this from all addresses.",
        ),
    ] = 5,
    registrations_per_hour: Annotated[
        int,
        typer.Option(
            "--registrations-per-hour",
            min=0,
            help="Accounts one address may register in an hour; 0: no limit.",
        ),
    ] = 10,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="Address of a reverse proxy in front of the server (repeat for several):"
            " its X-Forwarded-For header names the client, for limits and logs.",
        ),
    ] = None,
    metrics_listen: Annotated[
        str | None,
        typer.Option(
            "--metrics-listen",
            metavar="HOST:PORT",
            help="Serve /metrics (and /healthz) on this address of their own, e.g."
            " 127.0.0.1:9100, and no longer on the main port.",
        ),
    ] = None,
    registration: Annotated[
        str,
        typer.Option(
            "--registration",
            help="Who may create an account: invite (a code from roost admin invite), open"
            " (anyone who can reach the server) or closed. The first account on a new server"
            " may always register, and becomes its admin.",
        ),
    ] = "invite",
    log_format: Annotated[
        str, typer.Option("--log-format", help="text, or json: one JSON object per line.")
    ] = "text",
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug (every op), info, warning or error.")
    ] = "info",
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file of settings (keys spelled as these options, e.g. max-frame);"
            " ROOST_CONFIG names it too. Default: roost/server.toml in your config folder"
            " (~/.config on Linux), else /etc/roost/server.toml, if there. Every option can"
            " also be a ROOST_* variable"
            " (ROOST_MAX_FRAME): flags win over variables, variables over the file.",
        ),
    ] = None,
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config",
            help="Print the settings in effect and where each came from, then exit.",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Run a Roost server."""
    # The server is imported here so client-only commands never load it.
    from server import logs
    from server.accounts.registration import MODES
    from server.config import Limits, ServerConfig, parse_listen_address
    from storage.engines import where

    if log_format not in logs.FORMATS:
        raise typer.BadParameter(
            f"must be one of {', '.join(logs.FORMATS)}", param_hint="--log-format"
        )
    if log_level not in logs.LEVELS:
        raise typer.BadParameter(
            f"must be one of {', '.join(logs.LEVELS)}", param_hint="--log-level"
        )
    if registration not in MODES:
        raise typer.BadParameter(f"must be one of {', '.join(MODES)}", param_hint="--registration")
    metrics_host, metrics_port = None, 0
    if metrics_listen is not None:
        try:
            metrics_host, metrics_port = parse_listen_address(metrics_listen)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--metrics-listen") from None
    if db is not None and not db.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter(
            "only postgresql://USER@HOST:PORT/DB (without --db: SQLite in --data)",
            param_hint="--db",
        )
    if blocks is not None:
        from storage.content.s3_location import BadLocation, parse_s3_url

        try:
            parse_s3_url(blocks)
        except BadLocation as exc:
            raise typer.BadParameter(str(exc), param_hint="--blocks") from None
    if bus is not None:
        from server.redis_bus import check_url

        if db is None:
            raise ClientError("--bus needs --db postgresql://…: SQLite is one process's database")
        try:
            check_url(bus)
        except ValueError as exc:
            raise ClientError(str(exc)) from None
    if (tls_cert is None) != (tls_key is None):
        raise ClientError("--tls-cert and --tls-key go together")
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
    config = ServerConfig(
        # ~ is expanded here too: a config file or a quoted variable passes it through.
        data_dir=data.expanduser() if data else Path(platformdirs.user_data_dir("roost-server")),
        host=host,
        port=port,
        tls_cert=tls_cert.expanduser() if tls_cert else None,
        tls_key=tls_key.expanduser() if tls_key else None,
        trusted_proxies=_addresses("--trusted-proxy", trusted_proxy or []),
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
    if print_config:  # everything above has been checked: this doubles as a config test
        for warning in setting_warnings(ctx):
            output.note(f"warning: {warning}")
        print_settings(ctx, as_json, unset={"data": f"data in {config.data_dir}"})
        return
    logs.configure(log_format, log_level)
    log = logging.getLogger("roost.server")
    for warning in setting_warnings(ctx):
        log.warning(warning)
    if sources := sources_line(ctx):
        log.info(sources)
    from server.app import run
    from storage.content.s3_blocks import S3Unreachable

    if blocks is not None:  # before anything is logged: a bucket we cannot use stops here
        _check_bucket(blocks)
    else:  # a folder whose blocks are in a bucket, started without --blocks
        from storage.content.stores import refuse_a_forgotten_bucket

        refuse_a_forgotten_bucket(config.data_dir, None)

    def ready(server: RoostServer) -> None:
        line = (
            f"Roost listening on {config.scheme}://{config.host}:{server.port}"
            f" (data in {config.data_dir}"
            + (f", database {where(db, config.database_path)})" if db else ")")
        )
        if log_format == "json":  # every line on stderr stays JSON
            logging.getLogger("roost.server").info(line)
        else:
            output.note(line)

    try:
        asyncio.run(run(config, on_ready=ready))
    except (OSError, ssl.SSLError) as exc:  # port taken, unreadable certificate, ...
        raise ClientError(f"cannot start the server: {exc}") from None
    except Unavailable as exc:  # only at start: once serving, ops answer `unavailable`
        raise ClientError(f"cannot start the server: {_unreachable(db, exc)}") from None
    except S3Unreachable as exc:  # --blocks: bad bucket, credentials or endpoint
        raise ClientError(f"cannot start the server: {exc}") from None


def _check_bucket(url: str) -> None:
    from storage.content.s3_blocks import S3BlockStore, S3Unreachable
    from storage.content.s3_location import parse_s3_url

    try:
        S3BlockStore(parse_s3_url(url)).check()
    except S3Unreachable as exc:
        raise ClientError(f"cannot start the server: {exc}") from None


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
        raise typer.BadParameter(str(exc), param_hint=flag) from None
    if value < at_least:
        raise typer.BadParameter(f"must be at least {format_size(at_least)}", param_hint=flag)
    if at_most is not None and value > at_most:  # each connection may buffer this much
        raise typer.BadParameter(f"must be at most {format_size(at_most)}", param_hint=flag)
    return value


def _unless_none(text: str) -> str | None:
    return None if text.strip().lower() == "none" else text


def _count(flag: str, text: str) -> int | None:
    if _unless_none(text) is None:
        return None
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: write a whole number, or none", param_hint=flag
        ) from None
    if value < 1:
        raise typer.BadParameter("must be at least 1", param_hint=flag)
    return value


def _addresses(flag: str, given: list[str]) -> frozenset[str]:
    try:
        return frozenset(str(ipaddress.ip_address(a.strip("[]"))) for a in given)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=flag) from None


def _text_limit(own: int | None, shared: int | None, ceiling: int) -> int:
    """--max-post-text / --max-chat-text, else --max-text up to what the protocol allows."""
    return own or min(shared or ceiling, ceiling)
