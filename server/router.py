"""Decode a request, check who is asking, run the op's handler, encode the reply.

Every op in `protocol.ops.OPS` must have exactly one handler (checked at start-up), so no op
can bypass authentication, argument validation or idempotency.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from protocol.envelope import decode_request, encode, encode_error, encode_ok
from protocol.errors import ErrorCode, ProtocolError, RoostError
from protocol.ops import OPS, OpSpec, spec_for
from server import coherence
from server.context import OpContext, Services
from server.database_outage import DatabaseOutage, refusal
from server.session import Session
from storage.database import now_ms
from storage.errors import Unavailable

log = logging.getLogger("roost.server")
op_log = logging.getLogger("roost.ops")  # one record per op: see server.logs
# An outage refuses every op: its start and end are logged once (server.database_outage).
_QUIET = {"ok", ErrorCode.RATE_LIMITED.value, ErrorCode.UNAVAILABLE.value}

# A handler returns its result as a Struct, or already encoded (msgspec.Raw) when it has the bytes.
Handler = Callable[[OpContext, Any], Awaitable[msgspec.Struct | msgspec.Raw]]
OpObserver = Callable[[str, str, float], None]  # op, outcome ("ok" or error code), seconds
SharedTokens = Callable[[int], Awaitable[float | None]]  # user id -> seconds to wait


class Router:
    def __init__(
        self,
        services: Services,
        handlers: Mapping[str, Handler],
        observe: OpObserver | None = None,
        outage: DatabaseOutage | None = None,
        shared_tokens: SharedTokens | None = None,
    ) -> None:
        """`shared_tokens`: a user's rate-limit bucket shared by every server process
        (`--bus`); None from it (the bus is away), or no such bucket: the session's own."""
        missing = OPS.keys() - handlers.keys()
        extra = handlers.keys() - OPS.keys()
        if missing or extra:
            raise RuntimeError(
                f"op table and handlers disagree: missing {missing}, unknown {extra}"
            )
        self._services = services
        self._handlers = dict(handlers)
        self._observe = observe or (lambda op, outcome, seconds: None)
        self.outage = outage or DatabaseOutage(services.db)
        self._shared_tokens = shared_tokens

    async def dispatch(self, session: Session, frame: str | bytes) -> bytes:
        """Answer one request frame; never raises."""
        try:
            request = decode_request(frame)
        except ProtocolError as exc:
            return encode_error(exc.request_id, exc)
        started = time.perf_counter()
        outcome = "ok"
        coherence.op_started()
        try:
            wait = await self._wait_for_token(session)
            if wait:
                raise RoostError(
                    ErrorCode.RATE_LIMITED,
                    f"rate limited: retry in {max(1, math.ceil(wait))} s",
                    retry_after=max(round(wait, 3), 0.001),
                )
            spec = spec_for(request.op)
            if spec.needs_auth and (session.identity is None or session.kicked):
                raise RoostError(ErrorCode.UNAUTHENTICATED, f"{spec.name} needs a logged-in device")
            args = spec.decode_args(request.args)
            result = await self._run(spec, session, args)
            return encode_ok(request.id, msgspec.Raw(result))
        except RoostError as exc:
            outcome = exc.code.value
            return encode_error(request.id, exc)
        except Unavailable as exc:  # the database went away: logged once per outage
            self.outage.noticed(exc)
            outcome = ErrorCode.UNAVAILABLE.value
            return encode_error(request.id, refusal())
        except Exception:
            outcome = ErrorCode.INTERNAL.value
            log.exception("op %s failed", request.op[:64])
            return encode_error(request.id, RoostError(ErrorCode.INTERNAL, "internal server error"))
        finally:
            seconds = time.perf_counter() - started
            self._observe(request.op, outcome, seconds)
            # Refusals are worth an operator's eye; successes only when asked (--log-level
            # debug), and rate-limit refusals too: a flood must not become a flood of logs.
            level = logging.DEBUG if outcome in _QUIET else logging.INFO
            if op_log.isEnabledFor(level):
                op_log.log(level, "op", extra=op_fields(session, request.op, outcome, seconds))

    async def _wait_for_token(self, session: Session) -> float:
        """0.0 if the op may run now, else the seconds until the user's bucket allows it."""
        if self._shared_tokens is not None and session.identity is not None:
            wait = await self._shared_tokens(session.identity.user_id)
            if wait is not None:
                return wait
        return session.bucket.take()

    async def _run(self, spec: OpSpec, session: Session, args: Any) -> bytes:
        handler = self._handlers[spec.name]
        ctx = OpContext(self._services, session)
        # A handler marked `commits_itself` (batched writes: chat.send's group commit) keeps
        # its own transaction and idempotency record; the router only runs it.
        if not spec.write or getattr(handler, "commits_itself", False):
            result = encode(await handler(ctx, args))
            ctx.publish_pending()
            await self._services.social.coherence.settled()
            return result
        user_id = ctx.identity.user_id
        client_id: str | None = getattr(args, "client_id", None)
        idempotency = self._services.idempotency
        async with self._services.db.write() as tx:
            if session.closing:  # revoked while this waited for the database behind the revoker
                raise RoostError(ErrorCode.UNAUTHENTICATED, "this device was logged out")
            # PostgreSQL runs a revocation, disable or deletion beside this: ask the database
            if not await self._services.accounts.write_allowed(tx, ctx.identity):
                raise RoostError(ErrorCode.UNAUTHENTICATED, "this device was logged out")
            ctx.tx = tx
            if client_id is not None:
                prior = await idempotency.lookup(tx, user_id, client_id)
                if prior is not None:
                    if prior.op != spec.name:
                        raise RoostError(
                            ErrorCode.CONFLICT, "client_id was already used for another op"
                        )
                    return prior.result  # a replay: the first answer, nothing applied again
            result = encode(await handler(ctx, args))
            if client_id is not None:
                await idempotency.record(tx, user_id, client_id, spec.name, result, now_ms())
        ctx.publish_pending()  # only now is the write committed
        await self._services.social.coherence.settled()  # other processes' caches too
        return result


def op_fields(session: Session, op: str, outcome: str, seconds: float) -> dict[str, object]:
    """The structured fields of one op's log record."""
    who = session.identity
    return {
        "op": op if op in OPS else "(unknown)",  # never echo a client's string into logs
        "user": who.username if who else None,
        "ms": round(seconds * 1000, 3),
        "code": outcome,
        "conn": session.ws.id.hex[:12],
        "addr": session.address or None,
    }
