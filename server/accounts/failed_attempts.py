"""Limits on logging in and registering, as plain rules with an injected clock.

Failed logins are counted three ways, each with some failures free and then a delay that
doubles with every further failure, up to a ceiling; an attempt inside the delay is refused
at once (`rate_limited`, with `retry_after`) without checking the password:

- per address and account: the tightest, it stops one address guessing one password;
- per address, whatever the account: it stops one address trying a password on everyone;
- per account, from anywhere: a looser cap against guesses spread over many addresses. Its
  ceiling is short and it never applies to an address that has logged in to the account
  before, so an attacker can slow the owner down, never lock them out.

A success clears the counts for that address and account, and the account's (only the
password's holder can do that); an address's own count is kept (logging in to an account of
one's own must not wipe a record of guessing at others). Counts of unknown usernames are kept
like any other, so a refusal says nothing about whether an account exists. A record is
forgotten an hour after its last failure, and each map is capped in size.

Registrations are limited per address: at most N in any hour.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from protocol.errors import ErrorCode, RoostError

FORGET_AFTER = 3600.0  # seconds without a failure before a record is forgotten
KNOWN_FOR = 30 * 86400.0  # an address that logged in to an account stays known this long
MAX_RECORDS = 100_000  # per map; past it the oldest record goes
REGISTRATION_WINDOW = 3600.0


@dataclass(frozen=True)
class FailureRule:
    free: int  # failures before any delay
    max_delay: float  # seconds: the delay doubles from 1 s up to this

    def delay(self, failures: int) -> float:
        past = failures - self.free
        if past < 0:
            return 0.0
        return min(2.0**past, self.max_delay)


def rules_for(login_failures: int) -> tuple[FailureRule, FailureRule, FailureRule]:
    """The three rules (address and account, address, account) from the one number an
    operator sets: the failures an address may make on one account before delays start."""
    return (
        FailureRule(free=login_failures, max_delay=900.0),
        FailureRule(free=4 * login_failures, max_delay=900.0),
        FailureRule(free=10 * login_failures, max_delay=30.0),
    )


class _Record:
    __slots__ = ("failures", "last")

    def __init__(self, failures: int, last: float) -> None:
        self.failures = failures
        self.last = last


class FailureCounts:
    """Failures per key, with the time of the last one, oldest first."""

    def __init__(self, rule: FailureRule, clock: Callable[[], float]) -> None:
        self.rule = rule
        self._clock = clock
        self._records: OrderedDict[object, _Record] = OrderedDict()  # oldest failure first

    def wait(self, key: object) -> float:
        """Seconds until `key` may try again (0: now)."""
        record = self._current(key)
        if record is None:
            return 0.0
        return max(0.0, record.last + self.rule.delay(record.failures) - self._clock())

    def failed(self, key: object) -> None:
        record = self._current(key)
        if record is None:
            self._records[key] = _Record(1, self._clock())
        else:
            record.failures += 1
            record.last = self._clock()
            self._records.move_to_end(key)
        self.trim()

    def clear(self, key: object) -> None:
        self._records.pop(key, None)

    def _current(self, key: object) -> _Record | None:
        record = self._records.get(key)
        if record is not None and self._clock() - record.last > FORGET_AFTER:
            del self._records[key]
            return None
        return record

    def trim(self) -> None:
        """Forget expired records, and the oldest past MAX_RECORDS."""
        now = self._clock()
        records = self._records
        while records:
            oldest = next(iter(records.values()))
            if len(records) <= MAX_RECORDS and now - oldest.last <= FORGET_AFTER:
                break  # oldest first: everything after it is fresher
            records.popitem(last=False)

    def __len__(self) -> int:
        return len(self._records)


class AuthLimits:
    def __init__(
        self,
        *,
        login_failures: int = 5,
        registrations_per_hour: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        pair, address, account = rules_for(login_failures)
        self._clock = clock
        self._by_pair = FailureCounts(pair, clock)
        self._by_address = FailureCounts(address, clock)
        self._by_account = FailureCounts(account, clock)
        # (address, username) -> time of the last login, oldest first
        self._known: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._registrations_per_hour = registrations_per_hour
        self._registrations: dict[str, deque[float]] = {}  # address -> times, this hour
        self._tell: Callable[[str, str, str], None] | None = None

    def share(self, tell: Callable[[str, str, str], None]) -> None:
        """Pass every count this process makes to the other server processes (`--bus`):
        `tell(what, address, username)`, which they `apply`. A guesser then gets no more
        tries by spreading them over processes (a few at most, sent within the same
        milliseconds)."""
        self._tell = tell

    def apply(self, what: str, address: str, username: str) -> None:
        """A count another process made (see `share`)."""
        if what == "failed":
            self._count_failure(address, username)
        elif what == "succeeded":
            self._count_success(address, username)
        elif what == "registered":
            self._registrations.setdefault(address, deque()).append(self._clock())
        elif what == "unregistered":
            self._take_back_registration(address)

    def _told(self, what: str, address: str, username: str = "") -> None:
        if self._tell is not None:
            self._tell(what, address, username)

    # ------------------------------------------------------------------------------ login
    def check_login(self, address: str, username: str) -> None:
        """Raise `rate_limited` if this address may not try this account's password yet."""
        waits = [
            (self._by_pair.wait((address, username)), f"for {username} from your address"),
            (self._by_address.wait(address), "from your address"),
        ]
        if not self._is_known(address, username):
            waits.append((self._by_account.wait(username), f"for {username}"))
        wait, where = max(waits, key=lambda w: w[0])
        if wait > 0:
            raise _rate_limited(f"too many failed logins {where}", wait)

    def login_failed(self, address: str, username: str) -> None:
        self._count_failure(address, username)
        self._told("failed", address, username)

    def _count_failure(self, address: str, username: str) -> None:
        self._by_pair.failed((address, username))
        self._by_address.failed(address)
        if not self._is_known(address, username):
            self._by_account.failed(username)

    def login_succeeded(self, address: str, username: str) -> None:
        self._count_success(address, username)
        self._told("succeeded", address, username)

    def _count_success(self, address: str, username: str) -> None:
        self._by_pair.clear((address, username))
        self._by_account.clear(username)
        key = (address, username)
        self._known[key] = self._clock()
        self._known.move_to_end(key)
        if len(self._known) > MAX_RECORDS:
            self._known.popitem(last=False)

    def _is_known(self, address: str, username: str) -> bool:
        since = self._known.get((address, username))
        return since is not None and self._clock() - since <= KNOWN_FOR

    # ------------------------------------------------------------------------ registration
    def start_registration(self, address: str) -> None:
        """Count one registration from `address`, or raise `rate_limited` if it has had its
        share this hour. `registration_refused` takes it back if it then fails."""
        limit = self._registrations_per_hour
        if limit <= 0:
            return
        now = self._clock()
        recent = self._registrations.get(address)
        if recent is None:
            recent = self._registrations[address] = deque()
        while recent and now - recent[0] >= REGISTRATION_WINDOW:
            recent.popleft()
        if len(recent) >= limit:
            wait = recent[0] + REGISTRATION_WINDOW - now
            raise _rate_limited(
                f"too many accounts registered from your address (at most {limit} an hour)", wait
            )
        recent.append(now)
        if len(self._registrations) > MAX_RECORDS:
            self._forget_old_registrations(now)
        self._told("registered", address)

    def registration_refused(self, address: str) -> None:
        self._take_back_registration(address)
        self._told("unregistered", address)

    def _take_back_registration(self, address: str) -> None:
        recent = self._registrations.get(address)
        if recent:
            recent.pop()

    def _forget_old_registrations(self, now: float) -> None:
        for address, recent in list(self._registrations.items()):
            if not recent or now - recent[-1] >= REGISTRATION_WINDOW:
                del self._registrations[address]
        while len(self._registrations) > MAX_RECORDS:
            del self._registrations[next(iter(self._registrations))]

    def sweep(self) -> None:
        """Forget what has expired (called now and then; the maps also trim themselves)."""
        now = self._clock()
        for counts in (self._by_pair, self._by_address, self._by_account):
            counts.trim()
        while self._known and now - next(iter(self._known.values())) > KNOWN_FOR:
            self._known.popitem(last=False)
        self._forget_old_registrations(now)


def _rate_limited(what: str, wait: float) -> RoostError:
    return RoostError(
        ErrorCode.RATE_LIMITED,
        f"{what}: retry in {_duration(wait)}",
        retry_after=max(round(wait, 3), 0.001),
    )


def _duration(seconds: float) -> str:
    """For people: seconds up to two minutes, then minutes."""
    if seconds <= 120:
        return f"{max(1, math.ceil(seconds))} s"
    return f"{math.ceil(seconds / 60)} min"
