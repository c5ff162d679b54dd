"""The bus between server processes (`roost serve --bus redis://…`): Redis or Valkey pub/sub,
through redis-py's asyncio client.

Two channels, both read on one subscriber connection, so a process hears them in the order
Redis ran the commands that published them:
- `events`: what the hub delivers (server/cluster_hub.py), presence rosters, kicks;
- `cache`: cache invalidations (server/coherence.py), each numbered by an epoch counter that
  the same script increments and publishes with, so "every invalidation up to N" is known
  the moment a process has heard N.
Everything a process sends goes out on one connection, in the order it was sent: a user's
events keep their order across processes.

Also here: the token buckets of per-user rate limits and the presence flags, shared in
Redis so they hold across processes.

When Redis cannot be reached the process keeps serving its own connections: events for
other processes are dropped (their clients catch up by cursor), invalidations wait to be
sent, and `on_up` runs when the bus comes back (the server drops its caches and asks its
clients to reconnect and catch up).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import msgspec
import redis.asyncio as redis
from redis.exceptions import RedisError

from server import bus_messages as bus
from storage.errors import StorageError

log = logging.getLogger("roost.server")

ALIVE_EVERY = 5.0  # seconds between a process's Alive messages
SILENT_AFTER = 3 * ALIVE_EVERY  # a subscription that heard nothing (not even itself) is dead
CONNECT_TIMEOUT = 3.0
RETRY_MAX = 5.0
POOL_CONNECTIONS = 16  # besides the subscriber's
SEND_BATCH = 256  # messages per pipeline round trip
HELD_FORGETS = 10_000  # invalidations kept while Redis is away; beyond: "forget everything"

# INCR and PUBLISH in one step: the epoch order and the channel order are the same.
FORGET_SCRIPT = """
local epoch = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[2], epoch .. ' ' .. ARGV[1])
return epoch
"""
# A token bucket (server/rate_limits.py's, in Redis): ARGV rate, burst, want; takes up to `want`
# whole tokens and returns "TAKEN WAIT": how many, and if none, the seconds until one is
# there (a string: Lua numbers come back from Redis as integers).
RATE_SCRIPT = """
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or burst
local at = tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = math.min(want, math.floor(tokens))
local wait = 0
if taken >= 1 then tokens = tokens - taken else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'at', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%d %.6f', taken, wait)
"""


class BusUnavailable(StorageError):
    """The bus could not be reached at start."""


def describe(url: str) -> str:
    """The bus URL without a password, for logs and --print-config."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_url(url: str) -> None:
    """ValueError with a one-line reason if `url` is not a Redis URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"--bus {describe(url)}: write redis://HOST:PORT/DB (or rediss://)")
    path = parts.path.strip("/")
    if parts.scheme != "unix" and path and not path.isdigit():
        raise ValueError(
            f"--bus {describe(url)}: the database is a number, e.g. redis://HOST:6379/0"
        )


class RedisBus:
    def __init__(self, url: str, node_id: int) -> None:
        check_url(url)
        self.url = url
        self.node = node_id
        parts = urlsplit(url)
        # Pub/sub channels are shared by every database of a Redis: the database number keeps
        # two Roosts on one Redis apart.
        self.prefix = f"roost:{parts.path.strip('/') or '0'}:"
        self._events_channel = self.prefix + "events"
        self._cache_channel = self.prefix + "cache"
        self._epoch_key = self.prefix + "cache-epoch"
        # A bounded pool: a burst of requests waits for a connection rather than opening
        # thousands (Redis's own limit would refuse them).
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=POOL_CONNECTIONS, timeout=CONNECT_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT * 2,
            socket_keepalive=True,
        )  # fmt: skip
        self._client = redis.Redis.from_pool(pool)
        # What this process sends goes out on one connection of its own, in order, never
        # waiting behind the pool (a busy moment must not stall or reorder the events).
        self._sender = redis.Redis.from_url(
            url, single_connection_client=True, socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=CONNECT_TIMEOUT * 2, socket_keepalive=True,
        )  # fmt: skip
        self._forget_script = self._client.register_script(FORGET_SCRIPT)
        self._rate_script = self._client.register_script(RATE_SCRIPT)
        self.up = False
        self.problem: str | None = "not connected yet"
        self.applied_epoch = 0  # every invalidation up to this one has been applied here
        self._epoch_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._outbox: asyncio.Queue[tuple[bytes, asyncio.Future[None] | None]] = asyncio.Queue()
        self._held_forgets: list[bytes] = []  # encoded Forget messages
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._epoch_batch: asyncio.Future[int] | None = None
        self._epoch_reader: asyncio.Task[None] | None = None
        # set by the server: what to do with what others send
        self.on_event: Callable[[bus.Message], None] = lambda message: None
        self.on_forget: Callable[[bus.Forget], None] = lambda message: None
        self.on_up: Callable[[bool], Awaitable[None]] = _nothing  # True: after an outage
        self.on_down: Callable[[], None] = lambda: None
        self.on_tick: Callable[[], None] = lambda: None  # every ALIVE_EVERY while connected
        self.dropped = 0  # events not sent because Redis was away

    # ------------------------------------------------------------------ life
    async def start(self) -> None:
        """Connect, or raise BusUnavailable with one line saying why."""
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            await self._client.aclose()
            await self._sender.aclose()
            raise BusUnavailable(f"cannot reach the bus at {describe(self.url)}: {exc}") from None
        self._tasks = [
            asyncio.create_task(self._subscribe_forever()),
            asyncio.create_task(self._send_forever()),
        ]
        async with asyncio.timeout(CONNECT_TIMEOUT * 2):
            while not self.up:  # subscribed: from now on nothing sent by others is missed
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self.up:
            self.send(bus.Leaving(self.node))
            await self.flushed()
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._epoch_reader is not None:
            self._epoch_reader.cancel()
            await asyncio.gather(self._epoch_reader, return_exceptions=True)
        await self._client.aclose()
        await self._sender.aclose()

    def _went_down(self, exc: BaseException) -> None:
        if self.up:
            log.warning("bus unavailable (%s): serving this process's connections alone", exc)
            self.up = False
            self.on_down()
        self.problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
        for _, waiter in self._epoch_waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionError("bus unavailable"))
        self._epoch_waiters.clear()

    # ------------------------------------------------------------------ receiving
    async def _subscribe_forever(self) -> None:
        delay, outage = 0.2, False
        while not self._closed:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._events_channel, self._cache_channel)
                    epoch = await self._client.get(self._epoch_key)
                    self.applied_epoch = max(self.applied_epoch, int(epoch or 0))
                    self.up, self.problem, delay = True, None, 0.2
                    if outage:
                        log.info("bus connected again")
                    await self.on_up(outage)
                    await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # RedisError, OSError, a silent subscription
                self._went_down(exc)
                outage = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _listen(self, pubsub: redis.client.PubSub) -> None:
        heard = time.monotonic()
        next_alive = 0.0
        while True:
            now = time.monotonic()
            if now >= next_alive:
                self.send(bus.Alive(self.node))
                self.on_tick()
                next_alive = now + ALIVE_EVERY
            if now - heard > SILENT_AFTER:
                raise ConnectionError(f"nothing heard on the bus for {SILENT_AFTER:.0f} s")
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            heard = time.monotonic()
            channel, data = message["channel"].decode(), message["data"]
            try:
                if channel == self._cache_channel:
                    self._heard_forget(data)
                else:
                    event = bus.decode_event(data)
                    if event.origin != self.node:
                        self.on_event(event)
            except (ValueError, msgspec.DecodeError) as exc:
                log.error("ignored a message on the bus that is not Roost's: %s", exc)
            except Exception:
                log.exception("could not apply a message from the bus")

    def _heard_forget(self, data: bytes) -> None:
        epoch, forget = bus.decode_forget(data)
        if forget.origin != self.node:
            self.on_forget(forget)
        self.applied_epoch = max(self.applied_epoch, epoch)
        ready = [w for w in self._epoch_waiters if w[0] <= self.applied_epoch]
        if ready:
            self._epoch_waiters = [w for w in self._epoch_waiters if w[0] > self.applied_epoch]
            for _, waiter in ready:
                if not waiter.done():
                    waiter.set_result(None)

    # ------------------------------------------------------------------ sending
    def send(self, message: bus.Message) -> None:
        """Queue a message for the other processes; dropped while Redis is away."""
        if not self.up:
            self.dropped += 1
            return
        self._outbox.put_nowait((bus.encode(message), None))

    def forget(self, message: bus.Forget) -> asyncio.Future[None]:
        """Queue an invalidation; the future resolves once Redis has published it (at once
        while Redis is away: the message is held and sent when it is back)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.up:
            self._hold(bus.encode(message))
            done.set_result(None)
        else:
            self._outbox.put_nowait((b"f" + bus.encode(message), done))
        return done

    def _hold(self, encoded: bytes) -> None:
        if len(self._held_forgets) >= HELD_FORGETS:
            self._held_forgets = []
            encoded = bus.encode(bus.Forget(self.node, everything=True))
        self._held_forgets.append(encoded)

    async def flushed(self) -> None:
        """Wait until everything queued so far has been sent (or dropped)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.put_nowait((b"", done))
        await done

    async def _send_forever(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < SEND_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            if self.up and self._held_forgets:
                batch = [(b"f" + m, None) for m in self._held_forgets] + batch
                self._held_forgets = []
            try:
                await self._send_or_retry(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._went_down(exc)
                for payload, _ in batch:
                    if payload.startswith(b"f"):
                        self._hold(payload[1:])
                    elif payload:
                        self.dropped += 1
            for _, done in batch:
                if done is not None and not done.done():
                    done.set_result(None)

    async def _send_or_retry(self, batch: list[tuple[bytes, asyncio.Future[None] | None]]) -> None:
        """Send, trying again while the subscription says Redis is there (a send that timed
        out on a loaded machine is not an outage; a repeat of it is harmless: clients drop
        an event they already have by its id or seq); give up after SILENT_AFTER."""
        give_up = time.monotonic() + SILENT_AFTER
        while True:
            try:
                await self._send(batch)
                return
            except (RedisError, OSError) as exc:
                if not self.up or time.monotonic() > give_up:
                    raise
                log.debug("sending on the bus failed (%s): trying again", exc)
                await asyncio.sleep(0.05)

    async def _send(self, batch: list[tuple[bytes, asyncio.Future[None] | None]]) -> None:
        if not self.up:
            raise ConnectionError("bus unavailable")
        async with self._sender.pipeline(transaction=False) as pipe:
            sent = 0
            for payload, _ in batch:
                if payload.startswith(b"f"):
                    await self._forget_script(
                        keys=[self._epoch_key], args=[payload[1:], self._cache_channel],
                        client=pipe,
                    )  # fmt: skip
                    sent += 1
                elif payload:
                    pipe.publish(self._events_channel, payload)
                    sent += 1
            if sent:
                await pipe.execute()

    # ------------------------------------------------------------------ cache epochs
    async def caught_up(self, timeout: float) -> bool:
        """Whether every invalidation Redis published before this call has been applied
        here (waiting up to `timeout` for the ones on their way); False while Redis is away
        or if they do not arrive in time."""
        if not self.up:
            return False
        try:
            epoch = await self._epoch()
            if epoch <= self.applied_epoch:
                return True
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._epoch_waiters.append((epoch, waiter))
            await asyncio.wait_for(waiter, timeout)
            return True
        except (RedisError, OSError, ConnectionError, TimeoutError):
            return False

    async def _epoch(self) -> int:
        """The current epoch, read by a GET sent after this call began. Callers that come
        while one GET is on its way share the next one: one round trip for many readers."""
        if self._epoch_batch is None:
            self._epoch_batch = asyncio.get_running_loop().create_future()
            if self._epoch_reader is None or self._epoch_reader.done():
                self._epoch_reader = asyncio.create_task(self._read_epochs())
        return await asyncio.shield(self._epoch_batch)

    async def _read_epochs(self) -> None:
        while self._epoch_batch is not None:
            batch, self._epoch_batch = self._epoch_batch, None
            try:
                value = await self._client.get(self._epoch_key)
            except Exception as exc:
                batch.set_exception(ConnectionError(str(exc)))
                batch.exception()  # retrieved: a caller may have gone already
                continue
            batch.set_result(int(value or 0))

    # ------------------------------------------------------------------ shared state
    async def take_tokens(
        self, user_id: int, rate: float, burst: int, want: int
    ) -> tuple[int, float] | None:
        """Up to `want` tokens from the user's bucket shared by every process: how many it
        gave, and if none, the seconds until one is there; None if Redis cannot be asked
        (the caller uses its own bucket)."""
        if not self.up:
            return None
        try:
            answer = await self._rate_script(
                keys=[f"{self.prefix}rate:{user_id}"], args=[rate, burst, want]
            )
        except (RedisError, OSError) as exc:
            log.debug("rate limit of user %d not asked of the bus: %s", user_id, exc)
            return None
        taken, wait = answer.split()
        return int(taken), float(wait)

    async def swap_presence(self, user_id: int, online: bool) -> bool | None:
        """Record whether the user was last announced online; whether that changed (only
        then is it announced: one announcement however many processes settle it). None if
        Redis cannot be asked."""
        if not self.up:
            return None
        try:
            before = await self._client.set(
                f"{self.prefix}online:{user_id}", b"1" if online else b"0", get=True
            )
        except (RedisError, OSError) as exc:
            log.debug("presence of user %d not swapped on the bus: %s", user_id, exc)
            return None
        return (before == b"1") != online

    async def clear_presence(self) -> int:
        """Forget every presence flag (the first process of a cluster that starts: nobody is
        online yet); how many."""
        removed = 0
        async for key in self._client.scan_iter(match=f"{self.prefix}online:*", count=1000):
            removed += int(await self._client.delete(key))
        return removed


async def _nothing(outage: bool) -> None:
    return None
