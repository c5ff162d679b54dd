"""One WebSocket session with a Roost server: requests matched to replies, an event stream,
and (optionally) staying connected with exponential backoff and jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import ssl
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec

# websockets is imported where a connection opens or reads (a tenth of a second at start-up,
# which the terminal app spends painting its cache first: bench/tui_startup.py).
if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

from client.backoff import Backoff
from client.errors import (
    AccountDisabled,
    AuthRejected,
    ConnectionLost,
    ServerError,
    ServerUnavailable,
    Unreachable,
)
from protocol.accounts import ACCOUNT_DISABLED, CLOSE_DISABLED
from protocol.envelope import Event, Reply, decode_server_frame, encode_request
from protocol.errors import ProtocolError

log = logging.getLogger("roost.client")

EVENT_QUEUE_SIZE = 10_000


class State(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


StateListener = Callable[[State, float], None]  # state, seconds until the next attempt


class Connection:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        open_timeout: float = 5.0,
        request_timeout: float = 30.0,
        max_frame_bytes: int = 8 << 20,
        ca: str | None = None,
    ) -> None:
        self.url = url
        self._ca = ca
        self._token = token
        self._open_timeout = open_timeout
        self._request_timeout = request_timeout
        self._max_frame_bytes = max_frame_bytes
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Reply | bytes]] = {}
        self._ids = itertools.count(1)
        self.events: asyncio.Queue[Event] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self.dropped_events = 0
        self.close_reason: str | None = None
        self._stopped = False
        self._retry_now = asyncio.Event()  # cuts a reconnect's wait short (a person asked)

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    async def open(self) -> None:
        """Connect once; Unreachable or AuthRejected on failure."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        try:
            self._ws = await connect(
                self.url,
                additional_headers=headers,
                open_timeout=self._open_timeout,
                compression=None,
                max_size=self._max_frame_bytes,
                user_agent_header="roost",
                ssl=self._tls_context(),
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = exc.response.body.decode(errors="replace").strip() if exc.response.body else ""
            if status == HTTPStatus.FORBIDDEN:  # the account is disabled: logging in won't help
                raise AccountDisabled(body or ACCOUNT_DISABLED) from None
            if status == HTTPStatus.UNAUTHORIZED:
                raise AuthRejected(
                    f"the server refused this device ({body or 'unauthorized'}); run roost login"
                ) from None
            if status == HTTPStatus.SERVICE_UNAVAILABLE and body:
                raise ServerUnavailable(body) from None
            raise Unreachable(f"{self.url} answered HTTP {status}: {body}") from None
        except InvalidURI as exc:
            raise Unreachable(f"bad server URL {self.url!r}: {exc}") from None
        except ssl.SSLCertVerificationError as exc:
            hint = "" if self._ca else "; for a server with its own certificate, pass --ca FILE"
            raise Unreachable(f"cannot trust {self.url}: {exc.verify_message}{hint}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            from client.server_url import why_unreachable

            raise Unreachable(
                f"cannot reach {self.url}: {why_unreachable(self.url, exc)}"
            ) from None
        self.close_reason = None
        self._reader = asyncio.create_task(self._read_forever(self._ws))

    def _tls_context(self) -> ssl.SSLContext | None:
        """For wss:// URLs: the system's trusted CAs, or only the given CA file."""
        if not self.url.startswith("wss://"):
            return None
        try:
            return ssl.create_default_context(cafile=self._ca)
        except (OSError, ssl.SSLError) as exc:
            raise Unreachable(f"cannot use CA file {self._ca}: {exc}") from None

    async def call(self, op: str, args: Any = None) -> Any:
        """Run an op; returns its result struct or raises ServerError / ConnectionLost."""
        from protocol.ops import spec_for  # every capability's types: loaded on first call

        spec = spec_for(op)
        result = await self.call_raw(op, msgspec.json.encode(args if args is not None else {}))
        return spec.decode_result(result)

    async def call_raw(self, op: str, args_json: bytes) -> bytes:
        """Run an op with already-encoded args; returns the result's JSON bytes."""
        ws = self._ws
        if ws is None or not self.connected:
            raise self._not_connected()
        request_id = next(self._ids)
        answer = await self._exchange(
            ws, request_id, encode_request(request_id, op, msgspec.Raw(args_json)), op
        )
        assert isinstance(answer, Reply), "a JSON request gets a JSON reply"
        return _result(answer)

    async def call_binary(self, build: Callable[[int], bytes]) -> bytes:
        """Send a binary frame built for a fresh request id; returns the binary answer, or the
        JSON result of a JSON reply (ServerError when it is an error)."""
        ws = self._ws
        if ws is None or not self.connected:
            raise self._not_connected()
        request_id = next(self._ids)
        answer = await self._exchange(ws, request_id, build(request_id), "block transfer")
        return answer if isinstance(answer, bytes) else _result(answer)

    async def _exchange(
        self, ws: ClientConnection, request_id: int, frame: bytes, what: str
    ) -> Reply | bytes:
        from websockets.exceptions import ConnectionClosed

        future: asyncio.Future[Reply | bytes] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send(frame, text=frame[:1] == b"{")
            del frame  # a block is MiBs: not kept while the reply is awaited
            return await asyncio.wait_for(future, self._request_timeout)
        except ConnectionClosed:
            raise self._lost_error(ws) from None
        except TimeoutError:
            raise ConnectionLost(
                f"no reply from {self.url} within {self._request_timeout:.0f}s"
            ) from None
        finally:
            self._pending.pop(request_id, None)

    async def close(self) -> None:
        self._stopped = True
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def drop(self) -> None:
        """Close this socket but not the connection's life: under keep_connected() it
        reconnects (and its on_connect runs again); otherwise the next use opens a new one."""
        await self._drop()

    async def _drop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self.wait_closed()

    async def wait_closed(self) -> None:
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    def retry_now(self) -> None:
        """Under keep_connected(): try again at once instead of after the backoff's delay."""
        self._retry_now.set()

    async def keep_connected(
        self,
        on_connect: Callable[[Connection], Awaitable[None]] | None = None,
        on_state: StateListener | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        """Stay connected until close(): reconnect with backoff, run on_connect each time.

        Returns when close() is called; raises AuthRejected (retrying cannot help then).
        """
        backoff = backoff or Backoff()
        notify = on_state or (lambda state, delay: None)
        while not self._stopped:
            notify(State.CONNECTING, 0.0)
            try:
                await self.open()
                notify(State.CONNECTED, 0.0)
                backoff.reset()
                if on_connect is not None:
                    await on_connect(self)
                await self.wait_closed()
            except Unreachable as exc:
                log.debug("connection attempt failed: %s", exc)
            except ServerError as exc:  # e.g. `unavailable` while replaying: retry later
                log.debug("dropping the connection after %s: %s", exc.code, exc.message)
                await self._drop()
            if self._stopped:
                break  # type: ignore[unreachable]  # stop() may run during the awaits above
            delay = backoff.next_delay()
            notify(State.RECONNECTING, delay)
            self._retry_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_now.wait(), delay)
        notify(State.CLOSED, 0.0)

    # ------------------------------------------------------------------------------------
    async def _read_forever(self, ws: ClientConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in ws:
                if isinstance(frame, bytes) and frame[:1] != b"{":
                    self._resolve_binary(frame)
                    continue
                try:
                    message = decode_server_frame(frame)
                except ProtocolError as exc:
                    log.warning("ignoring a frame the server should not send: %s", exc)
                    continue
                if isinstance(message, Reply):
                    self._resolve(message)
                else:
                    self._push_event(message)
        except ConnectionClosed:
            pass
        finally:
            if ws.close_code is not None and ws.close_code != 1000:
                self.close_reason = f"{ws.close_code} {ws.close_reason}".strip()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(self._lost_error(ws))
            self._pending.clear()

    def _resolve(self, reply: Reply) -> None:
        future = self._pending.get(reply.id) if reply.id is not None else None
        if future is not None and not future.done():
            future.set_result(reply)
        elif reply.error is not None:
            log.warning(
                "server error not tied to a request: %s %s", reply.error.code, reply.error.message
            )

    def _resolve_binary(self, frame: bytes) -> None:
        future = self._pending.get(int.from_bytes(frame[4:12], "big")) if len(frame) > 12 else None
        if future is not None and not future.done():
            future.set_result(frame)

    def _push_event(self, event: Event) -> None:
        try:
            self.events.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped_events += 1  # nobody is listening; a cursor catch-up will fill the gap

    def _not_connected(self) -> Exception:
        ws = self._ws
        if ws is not None and ws.close_code == CLOSE_DISABLED:
            return self._lost_error(ws)
        return ConnectionLost(f"not connected to {self.url}")

    def _lost_error(self, ws: ClientConnection) -> Exception:
        """Why requests in flight failed: an account disabled meanwhile is no network trouble
        (a write must not be queued for later), the rest is."""
        if ws.close_code == CLOSE_DISABLED:
            return AccountDisabled(ws.close_reason or ACCOUNT_DISABLED)
        return ConnectionLost(self._lost_message())

    def _lost_message(self) -> str:
        reason = f" ({self.close_reason})" if self.close_reason else ""
        return f"connection to {self.url} lost{reason}"


def _result(reply: Reply) -> bytes:
    if not reply.ok:
        error = reply.error
        raise (
            ServerError(error.code, error.message, error.retry_after)
            if error
            else ServerError("malformed", "error reply without an error")
        )
    return bytes(reply.result) if reply.result is not None else b"{}"
