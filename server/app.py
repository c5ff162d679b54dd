"""The server process: open storage, authenticate handshakes, run each connection's read loop,
and shut down gracefully (stop accepting, let in-flight ops finish, close the database).

The path of a request: `_authenticate` (token, per-address caps) -> `_connection` reads a
frame once its replies leave room (`Session.room_for_reply`) -> limits (size, rate) ->
`Router.dispatch` -> handler -> repositories -> commit -> reply queued on the `Session` ->
events to the `Hub`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import ssl
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from protocol.accounts import ACCOUNT_DISABLED, CLOSE_DISABLED
from protocol.envelope import encode_error, peek_request_id
from protocol.errors import ErrorCode, RoostError
from protocol.files import is_batch
from protocol.ids import SnowflakeGenerator
from server import addresses, bus_messages, export, gc_policy, health, node_lease
from server.accounts import admin, auth, deletion, password_changes, registration
from server.accounts.failed_attempts import AuthLimits
from server.accounts.passwords import Passwords
from server.chat import handlers as chat_handlers
from server.chat.commit import MessageCommitter
from server.chat.presence import Presence
from server.cluster_hub import ClusterHub
from server.coherence import AcrossProcesses
from server.config import ServerConfig
from server.context import Services
from server.database_outage import MESSAGE as DATABASE_UNAVAILABLE
from server.database_outage import DatabaseOutage
from server.expiry import expire_forever
from server.files import handlers as files_handlers
from server.files import links, moves, sharing, transfer, usage
from server.files import streaming as files_streaming
from server.files.downloads import (
    LINK_PASSWORD_RIGHT,
    LINK_PASSWORD_WRONG,
    OPEN_TIMEOUT,
    LinkAwareConnection,
    LinkDownloads,
    is_link_request,
)
from server.hub import Hub, InProcessHub
from server.logs import auth_event
from server.metrics import CONTENT_TYPE, Metrics
from server.node_lease import NodeLease
from server.rate_limits import RateLimits, SharedRateLimits
from server.redis_bus import RedisBus
from server.redis_bus import describe as describe_bus
from server.router import Router, SharedTokens
from server.session import CLOSE_LOGIN_TIMEOUT, CLOSE_REVOKED, CLOSE_TOO_SLOW, Session
from server.social import blocking, discovery, follows, notifications, posts, profiles, timelines
from server.social.search_index import index_for_search_forever
from server.social.services import SocialServices
from storage.content.blocks import BlockWriter
from storage.content.chunker import check_compiled
from storage.content.malloc import tune_malloc
from storage.content.stores import BlockStores, block_claims, open_blocks
from storage.database import now_ms
from storage.engines import server_database, where
from storage.errors import StorageError, Unavailable
from storage.server.accounts import AccountRepository, Identity
from storage.server.backup import open_maintenance_lock
from storage.server.chat import ChatRepository
from storage.server.chat_batches import ChatBatches
from storage.server.credentials import secret_hash
from storage.server.data_engine import record_engine, recorded_database
from storage.server.data_lock import DataFolderLock, lock_data_folder
from storage.server.files import FileRepository
from storage.server.idempotency import IdempotencyRepository
from storage.server.invites import InviteRepository
from storage.server.links import LinkRepository
from storage.server.node_leases import NodeLeases
from storage.server.profiles import ProfileRepository
from storage.server.user_blocks import UserBlockRepository
from storage.server.users import UserDirectory

log = logging.getLogger("roost.server")

ACTIVITY_FLUSH_SECONDS = 10.0
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455: the server cannot serve this connection right now
CLOSE_SERVICE_RESTART = 1012  # RFC 6455: reconnect (and catch up by cursor)
# WAL checkpoints off the commit path (storage/sqlite.py), small and often: a checkpoint
# copies into the database file every page written since the last one and fsyncs it, and a
# commit's own fsync waits behind that. A post fanned out to 1,000 followers writes about
# 1,000 pages; at one checkpoint a second the post acks that met one waited up to ~110 ms
# (p99, bench/timeline.py), at one every 100 ms 48 ms. With nothing new, a checkpoint does
# no I/O.
CHECKPOINT_SECONDS = 0.1
# each module's HANDLERS serve its ops in protocol.ops
CAPABILITIES = [
    auth,
    password_changes,
    deletion,
    admin,
    profiles,
    posts,
    blocking,
    timelines,
    follows,
    notifications,
    discovery,
    chat_handlers,
    files_handlers,
    files_streaming,
    moves,
    sharing,
    links,
    usage,
    export,
]
BLOCK_FRAMES_AT_ONCE = 16  # per connection: verifying and storing blocks overlaps the network
SMALL_FRAME_BYTES = (256 << 10) + 64  # a block of at most 256 KiB and its header
SMALL_FRAMES_AT_ONCE = 64  # many small files: their latency is mostly waiting (4 MiB of memory)


def keepalive_interval(configured: float | None) -> float | None:
    """A connection's ping interval: somewhere between half the configured one and all of it.
    Connections opened together (everyone reconnecting after a restart) would otherwise ping
    in the same second, every interval, and every request then waits behind thousands of
    pings. A dead peer is still found within the configured interval plus the timeout."""
    return None if configured is None else configured * random.uniform(0.5, 1.0)


class RoostServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.db = server_database(
            config.database_url, config.database_path, checkpoint_every=CHECKPOINT_SECONDS
        )
        self._local_hub = InProcessHub()  # this process's connections
        self.hub: Hub = self._local_hub  # with --bus, a ClusterHub over it
        self.bus: RedisBus | None = None  # --bus: Redis between this and the other processes
        # with --bus: a count (failed login, registration, link password) for the other processes
        self._tell_elsewhere: Callable[[str, str, str], None] | None = None
        self._server: Server | None = None
        self._monitoring: Server | None = None  # --metrics-listen: /metrics on its own listener
        self._data_lock: DataFolderLock | None = None
        self._started = time.time()
        self._healthy = True  # what /healthz last said, so a change is logged once
        self._router: Router | None = None
        self._services: Services | None = None
        self._block_store: BlockStores | None = None
        self._accounts = AccountRepository(self.db)
        self._outage = DatabaseOutage(self.db)  # logs an outage once; ops answer `unavailable`
        self._closing = False
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._last_seen: dict[int, int] = {}  # device id -> ms; flushed in batches
        self._flusher: asyncio.Task[None] | None = None
        self._expirer: asyncio.Task[None] | None = None  # storage.server.expiry, on a timer
        self._lease: NodeLease | None = None  # this process's snowflake node id
        self._tls: ssl.SSLContext | None = None
        self._indexer: asyncio.Task[None] | None = None  # new messages into search, on a timer
        self._sessions: set[Session] = set()
        self._link_downloads: LinkDownloads | None = None  # GET /l/TOKEN
        self.metrics = Metrics(
            connections=lambda: len(self._sessions),
            queued_frames=lambda: sum(s.queued for s in self._sessions),
            stored_paths=self._stored_paths,
            cached_posts=lambda: len(self._services.social.hot_posts) if self._services else 0,
            indexed_blocks=lambda: self._block_store.indexed() if self._block_store else 0,
        )
        chat_repo = ChatRepository()  # chat: repository, group commit, presence
        self._chat = chat_repo
        self.presence = Presence(
            self.hub,
            self.db,
            chat_repo,
            UserBlockRepository(),
            online_delay=config.presence_online_delay,
            offline_delay=config.presence_offline_delay,
        )
        self.messages: MessageCommitter | None = None
        limits = config.limits
        self._rates = RateLimits(limits.ops_per_second, limits.ops_burst)
        self._shared_rates: SharedRateLimits | None = None  # --bus: buckets in Redis
        self._caps = addresses.ConnectionCaps(
            limits.connections_per_address, limits.anonymous_connections_per_address
        )
        self._auth_limits = AuthLimits(
            login_failures=limits.login_failures,
            registrations_per_hour=limits.registrations_per_hour,
        )
        # Frames above these close the socket (1009): a block for a logged-in device; a
        # register or login request, not megabytes held in memory, for anyone else.
        self._frame_limit = max(limits.max_frame_bytes, limits.max_request_bytes * 4)
        self._anonymous_frame_limit = min(limits.anonymous_frame_bytes, self._frame_limit)

    def _lease_lost(self) -> None:
        self._stopping_for_lease = asyncio.create_task(self.stop())

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        if self.config.registration not in registration.MODES:
            raise ValueError(f"registration must be one of {', '.join(registration.MODES)}")
        # A certificate that cannot be read stops the start before the database is touched.
        self._tls = tls_context(self.config)
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        # Before anything else touches the folder (or the port): one server per data folder.
        self._data_lock = lock_data_folder(self.config.data_dir)
        try:
            url = self.config.database_url  # for roost admin backup/restore/gc/du on the folder
            if url is None and (elsewhere := recorded_database(self.config.data_dir)):
                # Without --db this would quietly serve the folder's stale or empty SQLite file.
                raise StorageError(
                    f"the server on {self.config.data_dir} keeps its database in PostgreSQL"
                    f" ({elsewhere}): start it with --db URL (to start over on SQLite in this"
                    f" folder instead, remove {self.config.data_dir / 'postgresql'})"
                )
            record_engine(
                self.config.data_dir, where(url, self.config.database_path) if url else None
            )
            await self._start()
        except BaseException:
            if self.bus is not None:
                await self.bus.close()
            if self._lease is not None:
                await self._lease.release()
            await self.db.close()  # its worker threads would keep the process alive
            self._data_lock.release()
            raise
        self._started = time.time()

    async def _start(self) -> None:
        os.close(open_maintenance_lock(self.config.data_dir))  # for backups run read-only
        check_compiled()
        await self.db.open()
        self._lease = NodeLease(self.db, on_lost=self._lease_lost)
        node_id = await self._lease.take()
        ids = SnowflakeGenerator(node_id)
        alone = await self._alone_on_database(node_id)
        idempotency = IdempotencyRepository()
        social = SocialServices.open(
            self.db, self.config.celebrity_threshold, self.config.post_cache
        )
        shared_tokens = None
        if self.config.bus_url is not None:
            shared_tokens = await self._join_cluster(self.config.bus_url, node_id, social, alone)
        self.messages = MessageCommitter(
            ChatBatches(self.db, self._chat, idempotency, social.blocks),
            self.hub,
            ids,
            window=self.config.chat_commit_window,
            max_batch=self.config.chat_batch_limit,
        )
        block_store = self._block_store = await open_blocks(
            self.config.blocks_url, self.config.data_dir
        )  # the data folder's, or a bucket (--blocks s3://…): checked before serving
        services = Services(
            config=self.config,
            db=self.db,
            hub=self.hub,
            ids=ids,
            passwords=Passwords(self.config.limits.password_hashes_at_once),
            auth_limits=self._auth_limits,
            accounts=self._accounts,
            profiles=ProfileRepository(self.db),
            idempotency=idempotency,
            social=social,
            chat=self._chat,
            messages=self.messages,
            presence=self.presence,
            files=FileRepository(self.db),
            blocks=block_store,
            block_writer=BlockWriter(block_store, claim=block_claims(block_store, self.db)),
            invites=InviteRepository(self.db),
            users=UserDirectory(),
            links=LinkRepository(self.db),
        )
        self._services = services
        self._link_downloads = LinkDownloads(services.links, block_store, services.passwords)
        if self._tell_elsewhere is not None:  # wrong link passwords count on every process
            self._link_downloads.share(self._tell_elsewhere)
        handlers = {op: h for module in CAPABILITIES for op, h in module.HANDLERS.items()}
        self._router = Router(
            services,
            handlers,
            observe=self.metrics.observe_op,
            outage=self._outage,
            shared_tokens=shared_tokens,
        )
        self._server = await self._listen()
        if self.config.metrics_host is not None:
            try:
                self._monitoring = await self._listen_for_monitoring(self.config.metrics_host)
            except BaseException:
                self._server.close()
                await self._server.wait_closed()
                raise
            log.info("metrics on http://%s:%d/metrics", self.config.metrics_host,
                     self.metrics_port)  # fmt: skip
        self._flusher = asyncio.create_task(self._flush_activity_forever())
        self._expirer = asyncio.create_task(
            expire_forever(self.db, self.config.limits, self.config.expire_every)
        )
        self._indexer = asyncio.create_task(index_for_search_forever(self.db))
        log.info(
            "listening on %s://%s:%d (data in %s)",
            self.config.scheme,
            self.config.host,
            self.port,
            self.config.data_dir,
        )
        log.info("%s", await self._registration_note())

    async def _alone_on_database(self, node_id: int) -> bool:
        """Whether no other live process shares this database; without a bus, one that
        does is refused: events, presence and caches would silently part ways."""
        if self.db.engine != "postgresql":  # the data folder's lock keeps SQLite to one
            return True
        held = await NodeLeases(self.db).held()
        others = [h for n, h, _ in held if n != node_id and not node_lease.died_here(h)]
        if others and self.config.bus_url is None:
            raise StorageError(
                f"another roost serve ({others[0]}) is serving this database: several"
                " processes need --bus redis://HOST:PORT/DB (docs/OPERATIONS.md)"
            )
        return not others

    async def _join_cluster(
        self, url: str, node_id: int, social: SocialServices, alone: bool
    ) -> SharedTokens:
        """Connect to the bus and route events, presence, rate limits and cache
        invalidation through it; the shared rate-limit bucket for the router."""
        bus = self.bus = RedisBus(url, node_id)
        cluster = ClusterHub(self._local_hub, bus)
        self.hub = cluster
        social.node = node_id
        social.coherence = AcrossProcesses(bus)
        self.presence.share(cluster, cluster.elsewhere.has, bus.swap_presence)
        cluster.on_left_elsewhere = self.presence.left_elsewhere
        cluster.on_auth_count = self._counted_elsewhere

        def tell(what: str, address: str, name: str) -> None:
            bus.send(bus_messages.AuthCount(node_id, what, address, name))

        self._tell_elsewhere = tell
        self._auth_limits.share(tell)
        bus.on_event = cluster.apply
        bus.on_forget = lambda forget: social.drop(forget, tell=False)
        bus.on_tick = cluster.forget_silent

        async def came_up(after_outage: bool) -> None:
            cluster.announce_roster(ask=True)
            if after_outage:  # what was missed meanwhile: caches, events to our clients
                cluster.elsewhere.refresh()
                social.drop(bus_messages.Forget(node_id, everything=True), tell=False)
                for session in tuple(self._sessions):
                    session.kick(CLOSE_SERVICE_RESTART, "reconnect: events may have been missed")

        bus.on_up = came_up
        await bus.start()
        if alone:  # the first process of a cluster: nobody is online yet
            await bus.clear_presence()
        log.info("bus %s: node %d of a cluster", describe_bus(url), node_id)
        limits = self.config.limits

        async def take(user_id: int, want: int) -> tuple[int, float] | None:
            return await bus.take_tokens(user_id, limits.ops_per_second, limits.ops_burst, want)

        self._shared_rates = SharedRateLimits(take, lease=max(1, min(8, limits.ops_burst // 8)))
        return self._shared_rates.wait_for

    def _counted_elsewhere(self, count: bus_messages.AuthCount) -> None:
        """A failed login, a registration or a link password tried on another process."""
        if count.what in (LINK_PASSWORD_WRONG, LINK_PASSWORD_RIGHT):
            if self._link_downloads is not None:
                self._link_downloads.apply(count.what, count.address, count.username)
            return
        self._auth_limits.apply(count.what, count.address, count.username)

    async def _registration_note(self) -> str:
        mode = self.config.registration
        if not await self._accounts.any_user(self.db.reader):
            return (
                f"registration: {mode}; no account yet: the first to register (roost register"
                " USER) becomes this server's admin"
            )
        return {
            registration.INVITE: "registration: invite (a code from roost admin invite)",
            registration.OPEN: "registration: open (anyone who can reach the server)",
            registration.CLOSED: "registration: closed (no new accounts)",
        }[mode]

    @property
    def metrics_port(self) -> int:
        assert self._monitoring is not None, "no --metrics-listen"
        return int(self._monitoring.sockets[0].getsockname()[1])

    def _stored_paths(self) -> list[Path]:
        db = self.config.database_path
        return [db, db.with_name(db.name + "-wal"), self.config.data_dir / "blocks"]

    async def _listen(self) -> Server:
        # asyncio refuses a TLS handshake timeout without TLS
        tls_timeout: dict[str, Any] = {"ssl_handshake_timeout": OPEN_TIMEOUT} if self._tls else {}
        return await serve(
            self._connection,
            self.config.host,
            self.config.port,
            process_request=self._authenticate,
            compression=None,  # blocks are zstd already; deflate triples per-connection memory
            # a request over max_request_bytes gets a too_large reply, not a closed socket;
            # until a token is checked, a frame may be no larger than a login needs (raised in
            # _authenticate for a device: set later, a large frame could already be parsing)
            max_size=self._anonymous_frame_limit,
            ping_interval=self.config.ping_interval,
            ping_timeout=self.config.ping_timeout,
            close_timeout=5,
            server_header="Roost",
            ssl=self._tls,
            # the handshake's timeout is LinkAwareConnection's: lifted for a link download
            open_timeout=None,
            create_connection=LinkAwareConnection,
            **tls_timeout,
        )

    async def _listen_for_monitoring(self, host: str) -> Server:
        """/metrics and /healthz alone, plain HTTP, for a scraper on a private address."""
        return await serve(
            _no_websockets,
            host,
            self.config.metrics_port,
            process_request=self._monitoring_page,
            server_header="Roost",
        )

    async def stop(self) -> None:
        """Stop accepting, let in-flight ops finish (up to the grace period), then close."""
        if self._server is None:
            return
        self._closing = True
        self._server.server.close()  # stop listening; open connections stay for now
        if self._link_downloads is not None:  # a download may run for minutes: cut it
            self._link_downloads.close()
        try:
            await asyncio.wait_for(self._idle.wait(), self.config.shutdown_grace)
        except TimeoutError:
            log.warning(
                "shutdown: %d ops still running after %.0fs",
                self._inflight,
                self.config.shutdown_grace,
            )
        self._server.close(close_connections=True, reason="server shutting down")
        await self._server.wait_closed()
        if self._flusher is not None:
            self._flusher.cancel()
        for timer in (self._expirer, self._indexer):
            if timer is not None:
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer  # a pass cut short rolls back before the database closes
        await self._flush_activity()
        if self.messages is not None:
            await self.messages.close()
        await self.presence.close()
        if self.bus is not None:
            await self.bus.close()  # tells the others this process's users are gone
        await self._outage.close()
        if self._lease is not None:
            await self._lease.release()
        await self.db.close()
        if self._monitoring is not None:  # last: a monitor sees "shutting down" until here
            self._monitoring.close()
            await self._monitoring.wait_closed()
            self._monitoring = None
        if self._data_lock is not None:
            self._data_lock.release()
        self._server = None
        log.info("stopped")

    # ---------------------------------------------------------------------------- handshake
    async def _authenticate(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Bearer token check; a connection with no token may only register or log in.
        Counts the connection against its address's caps until it ends.
        Also serves /healthz, and /metrics unless --metrics-listen moved it (plain HTTP)."""
        path = request.path.partition("?")[0]
        if path == "/healthz":
            return await self._health_page()
        if path == "/metrics":
            if self.config.metrics_host is not None:  # kept off the internet-facing port
                return _refuse(connection, HTTPStatus.NOT_FOUND, "not found")
            return await self._metrics_page()
        if self._closing:
            return _refuse(connection, HTTPStatus.SERVICE_UNAVAILABLE, "server is shutting down")
        address = addresses.client_address(
            str(connection.remote_address[0]) if connection.remote_address else "",
            request.headers.get(addresses.FORWARDED_FOR),
            self.config.trusted_proxies,
        )
        if is_link_request(path):
            return await self._link_download(connection, request, address)
        header = request.headers.get("Authorization")
        identity: Identity | None = None
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                auth_event(logging.WARNING, "token refused", addr=address, user=None,
                           code="malformed_authorization")  # fmt: skip
                return _refuse(
                    connection, HTTPStatus.UNAUTHORIZED, "Authorization must be 'Bearer TOKEN'"
                )
            hashed = secret_hash(token.strip())
            try:
                identity = await self._accounts.identity_for_token(hashed)
                why_refused = None if identity else await self._accounts.why_token_refused(hashed)
            except Unavailable as exc:  # the client tries again later, as after any 503
                self._outage.noticed(exc)
                return _refuse(connection, HTTPStatus.SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE)
            if why_refused is not None:
                owner, why = why_refused
                auth_event(logging.WARNING, "token refused", addr=address, user=owner,
                           code=why)  # fmt: skip
                if why == "disabled":
                    return _refuse(connection, HTTPStatus.FORBIDDEN, ACCOUNT_DISABLED)
                return _refuse(
                    connection, HTTPStatus.UNAUTHORIZED, "invalid or revoked device token"
                )
        key, anonymous = addresses.address_key(address), identity is None
        refusal = self._caps.admit(key, anonymous=anonymous)
        if refusal is not None:
            log.info("refused a connection from %s: %s", address, refusal)
            return _refuse(connection, HTTPStatus.TOO_MANY_REQUESTS, refusal)
        # This runs in the connection's own task, which ends however the connection does
        # (handshake failed, handler returned, aborted): the count goes back exactly once.
        task = asyncio.current_task()
        assert task is not None
        task.add_done_callback(lambda _: self._caps.release(key, anonymous=anonymous))
        if not anonymous:
            connection.protocol.max_message_size = self._frame_limit
        connection.roost_identity = identity  # type: ignore[attr-defined]
        connection.roost_address = address  # type: ignore[attr-defined]
        return None

    async def _link_download(
        self, connection: ServerConnection, request: Request, address: str
    ) -> Response:
        """A public link's file, streamed (server/files/downloads.py); counted against the
        address's cap on anonymous connections while it lasts."""
        assert self._link_downloads is not None
        key = addresses.address_key(address)
        refusal = self._caps.admit(key, anonymous=True)
        if refusal is not None:
            return _refuse(connection, HTTPStatus.TOO_MANY_REQUESTS, refusal)
        try:
            return await self._link_downloads.answer(connection, request, address)
        except Unavailable as exc:
            self._outage.noticed(exc)
            return _refuse(connection, HTTPStatus.SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE)
        finally:
            self._caps.release(key, anonymous=True)

    async def _monitoring_page(self, connection: ServerConnection, request: Request) -> Response:
        path = request.path.partition("?")[0]
        if path == "/metrics":
            return await self._metrics_page()
        if path == "/healthz":
            return await self._health_page()
        return _refuse(connection, HTTPStatus.NOT_FOUND, "not found: try /metrics or /healthz")

    async def _metrics_page(self) -> Response:
        return _page(HTTPStatus.OK, CONTENT_TYPE, await self.metrics.render())

    async def _health_page(self) -> Response:
        problem = None if self._closing else await health.database_problem(self._read_database)
        bus = None if self.bus is None else (self.bus.problem or "ok")
        page = health.report(
            started=self._started, closing=self._closing, database=problem, bus=bus
        )
        if page.ok != self._healthy and not self._closing:  # once per change, not per probe
            self._healthy = page.ok
            if page.ok:
                log.info("health check passes again")
            else:
                log.warning("health check failed: %s", problem)
        status = HTTPStatus.OK if page.ok else HTTPStatus.SERVICE_UNAVAILABLE
        return _page(status, "application/json", page.body)

    async def _read_database(self) -> None:
        """A real read through the connection every read op uses, as cheap as one can be."""
        async with self.db.reader.execute("SELECT MAX(version) FROM schema_version") as cur:
            await cur.fetchone()

    # ---------------------------------------------------------------------------- connection
    async def _connection(self, ws: ServerConnection) -> None:
        # Before the first await, so the keepalive task's first sleep already uses it.
        ws.ping_interval = keepalive_interval(self.config.ping_interval)
        limits = self.config.limits
        identity: Identity | None = getattr(ws, "roost_identity", None)
        session = Session(
            ws,
            identity,
            self._rates.bucket_for(identity.user_id if identity else None),
            limits,
            on_kick=self._kicked,
            address=getattr(ws, "roost_address", ""),
        )
        self._sessions.add(session)
        log.debug("connection open", extra=_connection_fields(session))
        deadline: asyncio.TimerHandle | None = None
        if identity is None and limits.login_timeout > 0:  # it may only register or log in
            deadline = asyncio.get_running_loop().call_later(
                limits.login_timeout, self._login_overdue, session
            )
        if identity is not None:
            self.hub.attach(session)
            self.presence.connected(identity.user_id)
            self._last_seen[identity.device_id] = now_ms()
        blocks_at_once = asyncio.Semaphore(BLOCK_FRAMES_AT_ONCE)
        small_at_once = asyncio.Semaphore(SMALL_FRAMES_AT_ONCE)
        block_tasks: set[asyncio.Task[None]] = set()
        blocks = self._services.blocks if self._services is not None else None
        try:
            if identity is not None:
                try:
                    await self._recheck(session, identity)
                except Unavailable as exc:  # lost since the handshake: come back later
                    self._outage.noticed(exc)
                    session.kick(CLOSE_TRY_AGAIN_LATER, DATABASE_UNAVAILABLE)
            async for frame in ws:
                if isinstance(frame, bytes):  # answered concurrently; JSON keeps its order
                    small = len(frame) <= SMALL_FRAME_BYTES and not is_batch(frame)
                    slots = small_at_once if small else blocks_at_once  # a batch is MiBs
                    await slots.acquire()  # backpressure: stop reading meanwhile
                    reserve = transfer.reply_reservation(frame, blocks)  # a download: its block
                    await session.room_for_reply(reserve)  # and while replies go unread
                    task = asyncio.create_task(self._answer_block(session, frame, slots, reserve))
                    block_tasks.add(task)
                    task.add_done_callback(block_tasks.discard)
                    continue
                await session.room_for_reply()
                session.reply(await self._answer(session, frame))
        except ConnectionClosed:
            pass
        finally:
            if deadline is not None:
                deadline.cancel()
            self._sessions.discard(session)
            if identity is not None:
                self.presence.disconnected(identity.user_id)
            if session.announced and self._services is not None:  # files on their way from it
                await files_streaming.withdraw_on_close(self._services, session)
            if session.identity is not None:
                self.hub.detach(session)
                self._last_seen[session.identity.device_id] = now_ms()
            self._rates.release(identity.user_id if identity else None)
            log.debug("connection closed (%s)", ws.close_code, extra=_connection_fields(session))

    async def _recheck(self, session: Session, identity: Identity) -> None:
        """The handshake read the identity before this connection joined the hub: an admin's
        disable, promote or demote (or a revoke) committed in between reached the hub without
        it. Now that the hub has it, read again; what commits later reaches it by the hub."""
        standing = await self._accounts.standing(identity.device_id)
        if standing is None or standing[2]:
            session.kick(CLOSE_REVOKED, "device token revoked")
        elif standing[1]:
            session.kick(CLOSE_DISABLED, ACCOUNT_DISABLED)
        elif standing[0] != identity.role:
            session.set_role(standing[0])

    def _kicked(self, session: Session, code: int) -> None:
        if session.identity is not None:
            self.hub.detach(session)  # no more events for it, even before the close completes
        if code == CLOSE_TOO_SLOW:
            self.metrics.dropped.inc()

    def _login_overdue(self, session: Session) -> None:
        """An anonymous connection exists to register or log in; one that has not finished
        by now is closed, so no one can hold connections open without an account."""
        seconds = self.config.limits.login_timeout
        log.info("closing a connection from %s: not logged in within %.0f s", session.address,
                 seconds)  # fmt: skip
        session.kick(
            CLOSE_LOGIN_TIMEOUT,
            f"not logged in within {seconds:.0f} s; log in, then connect with the token",
        )

    async def _answer_block(
        self, session: Session, frame: bytes, slots: asyncio.Semaphore, reserved: int
    ) -> None:
        try:
            reply = await self._answer(session, frame)
        except BaseException:  # cancelled at shutdown: no reply, but the room comes back
            session.give_back(reserved)
            raise
        finally:
            slots.release()
        session.reply(reply, reserved=reserved)

    async def _answer(self, session: Session, frame: str | bytes) -> bytes:
        limits = self.config.limits
        if self._closing:
            return encode_error(None, RoostError(ErrorCode.UNAVAILABLE, "server is shutting down"))
        if isinstance(frame, bytes):  # block transfer; not charged to the op rate limit
            assert self._services is not None
            return await self._tracked(transfer.answer_binary(self._services, session, frame))
        if len(frame) > limits.max_request_bytes:
            return encode_error(
                peek_request_id(frame),
                RoostError(
                    ErrorCode.TOO_LARGE,
                    f"request of {len(frame)} characters; the limit is {limits.max_request_bytes}",
                ),
            )
        assert self._router is not None
        return await self._tracked(self._router.dispatch(session, frame))

    async def _tracked(self, answer: Awaitable[bytes]) -> bytes:
        """Count an op as in flight, so shutdown lets it finish."""
        self._inflight += 1
        self._idle.clear()
        try:
            return await answer
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    # ---------------------------------------------------------------------------- activity
    async def _flush_activity_forever(self) -> None:
        while True:
            await asyncio.sleep(ACTIVITY_FLUSH_SECONDS)
            self._rates.sweep()  # buckets of users who left and have refilled since
            if self._shared_rates is not None:
                self._shared_rates.sweep()
            self._auth_limits.sweep()
            if self._link_downloads is not None:
                self._link_downloads.sweep()
            try:
                await self._flush_activity()
            except Unavailable as exc:  # logged once per outage; flushed when it is back
                self._outage.noticed(exc)
            except Exception:
                log.exception("could not record device activity")

    async def _flush_activity(self) -> None:
        if not self._last_seen:
            return
        seen, self._last_seen = self._last_seen, {}
        try:
            async with self.db.write() as tx:
                await self._accounts.touch_devices(tx, seen)
        except Unavailable:
            self._last_seen = seen | self._last_seen  # the newer times win
            raise


def tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


def _refuse(connection: ServerConnection, status: HTTPStatus, message: str) -> Response:
    return connection.respond(status, message + "\n")


def _connection_fields(session: Session) -> dict[str, object]:
    who = session.identity
    return {
        "addr": session.address or None,
        "user": who.username if who else None,
        "conn": session.ws.id.hex[:12],
    }


def _page(status: HTTPStatus, content_type: str, body: bytes) -> Response:
    headers = Headers(
        [("Content-Type", content_type), ("Content-Length", str(len(body))),
         ("Cache-Control", "no-store"), ("Connection", "close")]
    )  # fmt: skip
    return Response(status, status.phrase, headers, body)


async def _no_websockets(ws: ServerConnection) -> None:
    """The monitoring listener answers every request in process_request; never reached."""
    await ws.close()


async def run(
    config: ServerConfig, *, on_ready: Callable[[RoostServer], None] | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully."""
    tune_malloc()  # blocks reuse memory instead of faulting in fresh pages each time
    server = RoostServer(config)
    await server.start()
    gc_policy.tune()
    collector = asyncio.create_task(gc_policy.collect_forever())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready(server)
    await stop.wait()
    log.info("shutting down")
    collector.cancel()
    await server.stop()


__all__ = ["RoostServer", "run"]
