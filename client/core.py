"""`RoostClient`: what the CLI and TUI call. It owns the client home's database, connects with
the saved token, replays the outbox first (and finishes what each replayed write changes
locally), queues writes when offline, and answers reads from the cache when the server cannot
be reached.

It holds one long-lived object per capability (`client.social`, `client.chat`,
`client.files`, `client.sync(root)`) and one typed event stream (`client.events()`): server
pushes decoded into client/events.py's structs, after the client kept what it keeps of them
(chat messages, receipts), and the client's own news (writes acked on replay, link state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from client.backoff import Backoff
from client.boundary import translate_storage_errors
from client.connection import Connection, State, StateListener
from client.errors import ClientError, InvalidArgs, ServerError, ServerUnavailable, Unreachable
from client.event_bus import EventBus, EventStream
from client.events import (
    ClientEvent,
    FollowChanged,
    LinkChanged,
    NewMessage,
    ReceiptChanged,
    WriteAcked,
    decode_server_event,
)
from client.home import Account, ClientHome
from client.outbox import CREATES_ID, LOCAL_ID, Outbox, ReplayReport, local_id, new_client_id
from client.server_url import server_url
from protocol import accounts as wire
from protocol import chat as chat_wire
from protocol import social as social_wire
from protocol.account_changes import PasswordReset, RedeemReset
from protocol.errors import ErrorCode, RoostError
from storage.client.cache import CacheRepository
from storage.client.chat_cache import ChatCacheRepository
from storage.client.outbox import OutboxEntry, OutboxRepository
from storage.client.schema import MIGRATIONS
from storage.database import Database
from storage.sqlite import SqliteDatabase

if TYPE_CHECKING:
    from client.chat import ChatClient
    from client.files import RemoteFiles
    from client.social import Social
    from client.sync.engine import PathState, SyncEngine
    from protocol.spec import OpSpec

log = logging.getLogger("roost.client")

T = TypeVar("T")

# Writes whose result is the new state of something a read caches: op -> the cache entry
# (read op, key) to refresh, so what you just wrote is what you see offline.
CACHED_BY_WRITE: dict[str, Callable[[Any], tuple[str, str]]] = {
    "profile.set": lambda profile: ("profile.get", profile.username),
    # So someone's profile read offline shows whether you follow them now.
    "follow.add": lambda profile: ("user.profile", profile.username.lower()),
    "follow.remove": lambda profile: ("user.profile", profile.username.lower()),
}

# Writes whose result changes whom your timelines show: each publishes FollowChanged.
CHANGES_FOLLOWS = frozenset(
    {"follow.add", "follow.remove", "block.add", "block.remove", "mute.add", "mute.remove"}
)


@dataclass
class Written(Generic[T]):
    result: T | None  # None when queued
    queued: bool
    client_id: str
    local_id: str | None = None  # queued and creates something: use this id meanwhile
    # queued because the server is up but cannot serve now: its reason (else: unreachable)
    why_queued: str | None = None


@dataclass
class Read(Generic[T]):
    result: T
    offline: bool  # True: this came from the cache, the server was unreachable
    cached_at: int | None = None


@translate_storage_errors
class RoostClient:
    def __init__(self, home: ClientHome, *, open_timeout: float = 5.0) -> None:
        self.home = home
        self._open_timeout = open_timeout
        self._db = SqliteDatabase(home.database_path, MIGRATIONS)
        self.cache = CacheRepository(self._db)
        self.outbox = Outbox(OutboxRepository(self._db))
        self.chat_store = ChatCacheRepository(self._db)  # used by client.chat
        self._conn: Connection | None = None
        self.last_replay: ReplayReport | None = None
        self._staying = False
        self._replayed_all = asyncio.Event()
        self._link = State.CLOSED  # the kept connection's state, while staying connected
        self._bus = EventBus()
        self._pump: asyncio.Task[None] | None = None  # decodes one connection's pushes
        self._pumped: Connection | None = None
        self._social: Social | None = None
        self._chat: ChatClient | None = None
        self._files: RemoteFiles | None = None
        self._engines: dict[Path, SyncEngine] = {}

    # --------------------------------------------------------------------- capabilities
    # Built on first use (their modules are imported then, so a command that never syncs
    # never loads the sync engine) and kept for the client's life, with their state.
    @property
    def social(self) -> Social:
        if self._social is None:
            from client.social import Social

            self._social = Social(self)
        return self._social

    @property
    def chat(self) -> ChatClient:
        if self._chat is None:
            from client.chat import ChatClient

            self._chat = ChatClient(self)
        return self._chat

    @property
    def files(self) -> RemoteFiles:
        if self._files is None:
            from client.files import RemoteFiles

            self._files = RemoteFiles(self)
        return self._files

    def sync(
        self,
        root: Path,
        *,
        on_block: Callable[[str, int], None] | None = None,
        on_plan: Callable[[list[PathState]], None] | None = None,
    ) -> SyncEngine:
        """The sync engine for a workspace folder, made on first use and kept per folder (its
        lock, index and transfer with it). `on_block`/`on_plan`, when given, become the
        engine's progress listeners (the view that runs it now)."""
        from client.sync.engine import SyncEngine

        key = root.expanduser().resolve()
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = SyncEngine(self, key)
        if on_block is not None:
            engine.on_block = on_block
        if on_plan is not None:
            engine.on_plan = on_plan
        return engine

    async def workspace(self) -> Path | None:
        """The folder bound as this device's workspace (`roost sync DIR`), if any."""
        from storage.client.sync_index import SyncIndex

        root = await SyncIndex(self._db).root()
        return Path(root) if root is not None else None

    # --------------------------------------------------------------------- events
    def events(self) -> EventStream:
        """Every event from now on, typed (client/events.py), until the stream or the client
        is closed: `async for event in client.events(): ...`. Server pushes flow while a
        connection is open (under `stay_connected`, across reconnects)."""
        stream = self._bus.open()
        if self._conn is not None:
            self._watch(self._conn)
        return stream

    def _watch(self, conn: Connection) -> None:
        """Decode this connection's pushes into events (one connection at a time)."""
        if self._pumped is conn and self._pump is not None and not self._pump.done():
            return
        if self._pump is not None:
            self._pump.cancel()
        self._pumped = conn
        self._pump = asyncio.create_task(self._pump_events(conn))

    async def _pump_events(self, conn: Connection) -> None:
        while True:
            event = decode_server_event(await conn.events.get())
            if event is None:
                continue  # an event this version does not know
            try:
                await self._absorb(event, conn)
            except ClientError as exc:  # kept by the next catch-up instead
                log.debug("could not keep %s: %s", type(event).__name__, exc)
            except Exception:  # a bug: said, but the events keep flowing
                log.exception("could not keep %s", type(event).__name__)
            self._bus.publish(event)

    async def _absorb(self, event: ClientEvent, conn: Connection) -> None:
        """What the client keeps of a server event before anyone hears of it."""
        match event:
            case NewMessage(message=message):
                await self.chat.received(message, via=conn)
            case ReceiptChanged(receipt=receipt):
                await self.chat.keep_receipts([receipt])

    @property
    def database(self) -> Database:
        """The client database, for capability repositories kept outside this module."""
        return self._db

    async def __aenter__(self) -> RoostClient:
        self.home.make_private()
        await self._db.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = self._pumped = None
        self._bus.close()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        await self._db.close()

    # --------------------------------------------------------------------- connecting
    async def connect(self) -> Connection:
        """The logged-in connection, opened on first use; the outbox is replayed first."""
        if self._staying:
            # The reconnect loop owns the connection. Until it is up and the outbox has been
            # replayed, new writes queue behind the older ones, so order is kept. An attempt
            # or replay under way is waited for: screens ask at start-up and the moment the
            # link says connected, and would otherwise fall back to the cache for good.
            if self._link in (State.CONNECTING, State.CONNECTED):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._replayed_all.wait(), self._open_timeout)
            if self._conn is None or not self._conn.connected or not self._replayed_all.is_set():
                raise Unreachable("reconnecting to the server")
            return self._conn
        if self._conn is not None and self._conn.connected:
            return self._conn
        account = self.home.require_account()
        conn = self._logged_in_connection(account)
        await conn.open()
        if self._staying:
            # stay_connected() began while this opened: its connection is the one that
            # reconnects, so this one must not replace it.
            await conn.close()  # type: ignore[unreachable]  # set during the await above
            return await self.connect()
        self._conn = conn
        if self._bus.listened:
            self._watch(conn)
        self.last_replay = await self.outbox.replay(conn, self._replayed)
        return conn

    async def stay_connected(
        self, on_state: StateListener | None = None, backoff: Backoff | None = None
    ) -> None:
        """Keep a live connection (for long-running clients such as the TUI): reconnect with
        backoff and jitter, replay the outbox on every connect. Returns after close()."""
        account = self.home.require_account()
        conn = self._logged_in_connection(account)
        self._conn = conn
        self._staying = True
        self._link = State.CONNECTING
        self._watch(conn)  # the same connection object across reconnects
        notify = on_state or (lambda state, delay: None)

        def state_changed(state: State, delay: float) -> None:
            self._link = state
            if state is not State.CONNECTED:
                self._replayed_all.clear()
            notify(state, delay)
            self._bus.publish(LinkChanged(state.value, delay))

        async def on_connect(connection: Connection) -> None:
            self.last_replay = await self.outbox.replay(connection, self._replayed)
            self._replayed_all.set()
            self._bus.publish(LinkChanged(State.CONNECTED.value, replayed=True))

        try:
            await conn.keep_connected(on_connect, state_changed, backoff)
        finally:
            self._staying = False
            self._replayed_all.clear()

    def retry_now(self) -> None:
        """Under stay_connected(), while reconnecting: try again at once."""
        if self._staying and self._conn is not None:
            self._conn.retry_now()

    async def wait_replayed(self) -> None:
        """Under stay_connected(): until the link is up and the outbox replayed, so reads and
        writes go to the server (the link reports "connected" before the replay ends)."""
        await self._replayed_all.wait()

    @property
    def connection(self) -> Connection | None:
        """The current connection, if one was opened."""
        return self._conn

    @property
    def link(self) -> State:
        """The kept connection's state under `stay_connected` (else `closed`)."""
        return self._link

    async def _replayed(self, entry: OutboxEntry, result: bytes) -> None:
        """Finish a queued write the server acked on replay, exactly as if it had been sent
        at once (whoever replays it: a CLI command or the TUI), then say so."""
        decoded = spec_for(entry.op).decode_result(result)
        await self._remember_write(entry.op, decoded, entry.args)
        created = local_id(entry)
        created_id = getattr(decoded, CREATES_ID[entry.op], None) if created else None
        self._bus.publish(WriteAcked(entry.client_id, entry.op, decoded, created, created_id))

    async def _remember_write(self, op: str, result: Any, args: bytes) -> None:
        """What an acked write changes on this device: the caches its result refreshes, the
        chat store for one's own message, the cached first pages for one's own post."""
        cached_as = CACHED_BY_WRITE.get(op)
        if cached_as is not None:
            read_op, key = cached_as(result)
            await self.cache.put(read_op, key, msgspec.json.encode(result))
        if op == "chat.send":
            sent = msgspec.json.decode(args, type=chat_wire.SendMessage)
            await self.chat.kept_sent(result, sent.to)
        elif op == "chat.group.create":
            await self.chat.kept_group(result)
        elif op in ("post.create", "post.repost"):
            await self.social.kept_post(result)
        elif op in CHANGES_FOLLOWS and isinstance(result, social_wire.UserProfile):
            self._bus.publish(FollowChanged(result))

    async def call(self, op: str, args: Any = None) -> Any:
        conn = await self.connect()
        return await conn.call(op, args)

    async def write(self, op: str, args: msgspec.Struct) -> Written[Any]:
        """Send a write, or queue it if the server cannot be reached (it may have been applied
        if the connection broke after sending: the replay's idempotency key sorts that out)."""
        if not spec_for(op).write:
            raise ClientError(f"{op} is not a queueable write")
        client_id: str = getattr(args, "client_id", None) or new_client_id()
        args = msgspec.structs.replace(args, client_id=client_id)
        check_args(op, args)
        try:
            conn = await self.connect()  # replays the outbox first: local ids get server ids
            args, _ = await self.outbox.resolve(args)
            result = await conn.call(op, args)
        except Unreachable as exc:
            entry = await self.outbox.enqueue(op, args)
            why = str(exc) if isinstance(exc, ServerUnavailable) else None
            return Written(None, True, client_id, local_id(entry), why)
        except ServerError as exc:
            # The server could not reach its database: rolled back, or committed with its
            # COMMIT's answer lost. The replay's idempotency key settles which, exactly once.
            if exc.code != ErrorCode.UNAVAILABLE:
                raise
            entry = await self.outbox.enqueue(op, args)
            # Reconnect before anything else is sent, so the outbox is replayed first and later
            # writes stay behind this one.
            if self._conn is not None:
                await self._conn.drop()
            return Written(None, True, client_id, local_id(entry), exc.message)
        await self._remember_write(op, result, msgspec.json.encode(args))
        return Written(result, False, client_id)

    async def read(self, op: str, args: Any, *, cache_key: str) -> Read[Any]:
        """Ask the server and cache the answer; when offline, answer from the cache."""
        spec = spec_for(op)
        try:
            result = await self.call(op, args)
        except Unreachable:
            cached = await self.cache.get(op, cache_key)
            if cached is None:
                raise
            return Read(spec.decode_result(cached.value), True, cached.updated_at)
        await self.cache.put(op, cache_key, msgspec.json.encode(result))
        return Read(result, False)

    async def cached(self, op: str, cache_key: str) -> Any | None:
        """A read's last answer as `read()` cached it, decoded (None if never cached): what a
        view paints before the server answers."""
        cached = await self.cache.get(op, cache_key)
        return spec_for(op).decode_result(cached.value) if cached is not None else None

    # --------------------------------------------------------------------- accounts
    async def register(
        self,
        server: str,
        username: str,
        password: str,
        device: str,
        ca: str | None = None,
        invite: str | None = None,
    ) -> wire.DeviceSession:
        """Create an account (with an invite code, on a server that registers by invite)."""
        credentials = wire.Registration(
            username=username, password=password, device_name=device, invite=invite
        )
        return await self._sign_in("auth.register", server, credentials, ca)

    async def login(
        self, server: str, username: str, password: str, device: str, ca: str | None = None
    ) -> wire.DeviceSession:
        credentials = wire.Credentials(username=username, password=password, device_name=device)
        return await self._sign_in("auth.login", server, credentials, ca)

    async def redeem_reset(
        self, server: str, code: str, new_password: str, ca: str | None = None
    ) -> PasswordReset:
        """Set a new password with an admin's one-time code (no login needed); every device of
        the account is logged out, and none is logged in."""
        args = RedeemReset(code=code, new_password=new_password)
        check_args(
            "auth.reset_password", args
        )  # a bad password is refused before the code is spent
        conn = Connection(server, open_timeout=self._open_timeout, ca=ca)
        await conn.open()
        try:
            done: PasswordReset = await conn.call("auth.reset_password", args)
        finally:
            await conn.close()
        return done

    def _logged_in_connection(self, account: Account) -> Connection:
        return Connection(
            account.server, self.home.token(), open_timeout=self._open_timeout, ca=account.ca
        )

    async def _sign_in(
        self, op: str, server: str, credentials: wire.Credentials, ca: str | None
    ) -> wire.DeviceSession:
        existing = self.home.account()
        if existing is not None:
            raise ClientError(
                f"this home is logged in as {existing.username};"
                " roost logout first, or set ROOST_HOME"
            )
        check_args(op, credentials)  # a name typed with a newline: said before connecting
        server = server_url(server)  # http://, https:// and bare host:port as people type them
        conn = Connection(server, open_timeout=self._open_timeout, ca=ca)
        await conn.open()
        try:
            session: wire.DeviceSession = await conn.call(op, credentials)
        finally:
            await conn.close()
        account = Account(
            server, session.user_id, session.username, session.device_id, session.device_name, ca
        )
        self.home.save(account, session.token)
        return session

    async def logout(self, *, force: bool = False) -> bool:
        """Revoke this device on the server and forget it here. With force, forget it even when
        the server is unreachable (the token then stays valid until revoked from another device).
        Returns whether the server confirmed the revocation."""
        self.home.require_account()
        try:
            await self.call("auth.logout")
            revoked = True
        except Unreachable:
            if not force:
                raise
            revoked = False
        await self.close()
        self.home.forget()
        return revoked


def spec_for(op: str) -> OpSpec:
    """An op's spec. protocol.ops imports every capability's types (the files protocol's alone
    costs ~20 ms), so it is loaded on first use: the terminal app paints its cached timeline
    without it (bench/tui_startup.py)."""
    from protocol.ops import spec_for as spec

    return spec(op)


def check_args(op: str, args: msgspec.Struct) -> None:
    """Refuse now what the server would refuse by the protocol's field rules, rather than send
    or queue it: InvalidArgs with the server's own message. A `local:N` id of a post still in
    the outbox stands for a real id, which replay puts in."""
    stand_ins = {
        name: "1"
        for name in args.__struct_fields__
        if isinstance(value := getattr(args, name), str) and LOCAL_ID.fullmatch(value)
    }
    try:
        spec_for(op).decode_args(msgspec.json.encode(msgspec.structs.replace(args, **stand_ins)))
    except RoostError as exc:
        from client.error_wording import plain_message  # in the user's words, no op names

        raise InvalidArgs(plain_message(exc.message, msgspec.structs.asdict(args))) from None
