"""roost serve: its flags; the server runs through server.entry.serve (in the foreground until
Ctrl-C or SIGTERM)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli import output
from cli.configured import print_settings, setting_warnings, sources_line
from cli.options import AsJson
from protocol.chat import MAX_MESSAGE_CHARS
from protocol.social import MAX_POST_CHARS


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
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="How people outside reach this server (https://files.example.org), for the"
            " URLs of public links; default: the address each client connects to.",
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
    # The server is imported here, through its entry point, so other commands never load it.
    from server.entry import BadSetting
    from server.entry import serve as entry

    try:
        entry.check_logging(log_format, log_level)
        config = entry.build_config(
            host=host,
            port=port,
            data=data,
            db=db,
            blocks=blocks,
            bus=bus,
            tls_cert=tls_cert,
            tls_key=tls_key,
            celebrity_threshold=celebrity_threshold,
            post_cache=post_cache,
            presence_online_delay=presence_online_delay,
            presence_offline_delay=presence_offline_delay,
            max_frame=max_frame,
            max_text=max_text,
            max_post_text=max_post_text,
            max_chat_text=max_chat_text,
            rate=rate,
            burst=burst,
            quota=quota,
            max_file_size=max_file_size,
            max_uncommitted=max_uncommitted,
            max_entries=max_entries,
            send_queue_bytes=send_queue_bytes,
            reply_queue_bytes=reply_queue_bytes,
            connections_per_address=connections_per_address,
            anonymous_per_address=anonymous_per_address,
            max_anonymous_frame=max_anonymous_frame,
            login_timeout=login_timeout,
            login_failures=login_failures,
            registrations_per_hour=registrations_per_hour,
            trusted_proxy=trusted_proxy or [],
            metrics_listen=metrics_listen,
            registration=registration,
            public_url=public_url,
        )
    except BadSetting as exc:
        raise typer.BadParameter(exc.message, param_hint=exc.flag) from None
    if print_config:  # everything above has been checked: this doubles as a config test
        for warning in setting_warnings(ctx):
            output.note(f"warning: {warning}")
        print_settings(ctx, as_json, unset={"data": f"data in {config.data_dir}"})
        return
    entry.run(
        config,
        log_format=log_format,
        log_level=log_level,
        warnings=setting_warnings(ctx),
        sources=sources_line(ctx),
        note=output.note,
    )
