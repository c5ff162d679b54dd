"""Protocol fuzzing against a real `roost serve` process: valid requests for every op in the
registry, mutated (wrong types, huge numbers, deep nesting, lone surrogates, unknown fields,
garbage after the JSON), random bytes as text and binary frames, frames over the limits.

Whatever arrives, the server answers with a stable error code (never `internal`) or closes
only that connection, stays up, and keeps answering a well-behaved bystander; its memory
stays flat over repeated rounds of bad input. `-m slow` runs many more examples.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from protocol import files as files_wire
from protocol.errors import ErrorCode
from server.session import CLOSE_LOGIN_TIMEOUT
from tests.reliability.attacks import ROWS
from tests.reliability.live import Peer, RoostProcess
from tests.reliability.world import World, build_world

CODES = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL.value}
# websockets closes on its own for these: invalid UTF-8 in a text frame (1007), a frame over
# max_size (1009: 64 KiB until logged in); both end only the connection that sent them. An
# anonymous connection is also closed at its login deadline (1008).
CLOSE_CODES = {1007, 1009}
ANONYMOUS_CLOSE_CODES = CLOSE_CODES | {CLOSE_LOGIN_TIMEOUT}
FUZZED_OPS = sorted(op for op, row in ROWS.items() if row.fuzz)
SURROGATE = "\u0000lone-surrogate\u0000"  # replaced by a JSON escape no UTF-8 can carry


@dataclass
class Fuzz:
    server: RoostProcess
    world: World
    attacker: Peer  # alice's device: the mutated requests act on her own things
    anonymous: Peer  # no token: may only register or log in
    bystander: Peer  # bob, asking politely throughout

    def bystander_is_served(self) -> None:
        assert self.server.alive, "the server process died:\n" + "".join(self.server.log[-30:])
        reply = self.bystander.request("auth.whoami", {})
        assert reply["ok"] is True and reply["result"]["username"] == "bob", reply


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    server = RoostProcess(Path(tmp_path_factory.mktemp("fuzz")))
    try:
        world = build_world(server.url)
        state = Fuzz(server, world, world.peer("alice"), Peer(server.url), world.peer("bob"))
        yield state
        state.attacker.close()
        state.anonymous.close()
        state.bystander.close()
        assert not server.errors_logged(), "".join(server.errors_logged())
    finally:
        server.stop()


# ---------------------------------------------------------------------------- strategies
big_numbers = st.sampled_from(
    [2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30, -(2**63) - 1, 1e308]
)
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | big_numbers
    | st.floats()
    | st.text(max_size=40)
    | st.just(SURROGATE)
    | st.sampled_from(["", "0", "-1", "9" * 19, "9" * 40, "@", "@x", "../../etc", "a/../b"])
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@dataclass
class Nested:
    """A value nested `depth` deep, spliced into the frame as text (json.dumps would recurse)."""

    depth: int
    opener: str

    def text(self) -> str:
        closer = "]" if self.opener == "[" else "}"
        inner = '"a":' if self.opener == "{" else ""
        return (self.opener + inner) * self.depth + "1" + closer * self.depth


# Values at the edges of what a field holds: ids and numbers past 64 bits, negative, empty.
id_edges = st.sampled_from(["9" * 19, "9223372036854775808", "9223372036854775807", "0" * 19])
int_edges = big_numbers | st.sampled_from([-1, 0, -(2**64)])


def edge_for(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return int_edges
    if isinstance(value, str) and value.isdigit():
        return id_edges
    return id_edges | int_edges | st.sampled_from(["", " ", "\x00", None])


def leaves_of(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the scalars sit in a JSON value: paths of keys and indexes."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaves_of(v, (*at, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaves_of(v, (*at, i))]
    return [at]


nested = st.builds(Nested, st.integers(1, 30_000), st.sampled_from(["[", "{"]))


def render(value: Any) -> str:
    if isinstance(value, Nested):
        return value.text()
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return json.dumps(value).replace(json.dumps(SURROGATE)[1:-1], "\\ud800")


@st.composite
def mutated_requests(draw: st.DrawFn, world: World) -> tuple[str, int | None]:
    """A valid request for some op, mutated 1-3 times; the frame and the id it should get."""
    op = draw(st.sampled_from(FUZZED_OPS))
    frame: dict[str, Any] = {"id": draw(st.integers(0, 2**53 - 1)), "op": op}
    args: Any = ROWS[op].valid_args(world)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(
            st.sampled_from(
                ["replace", "edge", "edge", "nest", "drop", "add", "args", "op", "id", "frame"]
            )
        )
        fields = sorted(args) if isinstance(args, dict) else []
        if how == "edge" and (paths := [p for p in leaves_of(args) if p]):
            *parents, last = draw(st.sampled_from(paths))  # any depth: commit items, cursors
            holder = args
            for step in parents:
                holder = holder[step]
            holder[last] = draw(edge_for(holder[last]))
        elif how in ("replace", "nest", "drop") and fields:
            name = draw(st.sampled_from(fields))
            if how == "drop":
                del args[name]
            else:
                args[name] = draw(json_values if how == "replace" else nested)
        elif how == "add" and isinstance(args, dict):
            args[draw(st.text(max_size=12))] = draw(json_values)
        elif how == "args":
            args = draw(json_values | nested)
        elif how == "op":
            frame["op"] = draw(json_values | st.sampled_from([op.upper(), op + " ", op[:-1]]))
        elif how == "id":
            frame["id"] = draw(json_values)
        elif how == "frame":
            frame[draw(st.sampled_from(["ok", "result", "event", "Id", "args2"]))] = draw(
                json_values
            )
    frame["args"] = args
    rid = frame["id"]
    expected_id = rid if type(rid) is int and 0 <= rid <= 2**53 - 1 else None
    text = render(frame)
    if draw(st.booleans()):
        text = text.encode("ascii", "backslashreplace").decode() if draw(st.booleans()) else text
    return text, expected_id


# ---------------------------------------------------------------------------- checks
anonymously = st.sampled_from([False, False, False, True])  # mostly as alice: deeper paths


def answer(
    fuzz: Fuzz, frame: str | bytes, *, text: bool | None = None, anonymous: bool = False
) -> dict[str, Any] | None:
    """Send one frame; the server's JSON reply, or None if it closed this connection (with an
    allowed code). Anything else fails: no reply, a crash, an internal error."""
    peer = fuzz.anonymous if anonymous else fuzz.attacker
    peer.send(frame, text=text)
    try:
        reply = peer.reply()
    except ConnectionClosed:
        code = peer.ws.close_code
        allowed = ANONYMOUS_CLOSE_CODES if anonymous else CLOSE_CODES
        assert code in allowed, f"connection closed with {code} {peer.ws.close_reason}"
        peer.reconnect()
        return None
    assert isinstance(reply, dict), f"a block frame in answer to {frame[:100]!r}"
    assert set(reply) <= {"id", "ok", "result", "error"}, reply
    if reply["ok"] is False:
        error = reply["error"]
        assert error["code"] in CODES, (frame[:300], reply)
        assert isinstance(error["message"], str) and error["message"], reply
        assert "Traceback" not in error["message"], reply
    return reply


def check_mutated(fuzz: Fuzz, data: st.DataObject) -> None:
    text, expected_id = data.draw(mutated_requests(fuzz.world))
    reply = answer(fuzz, text, anonymous=data.draw(anonymously))
    if reply is not None and expected_id is not None:
        assert reply["id"] == expected_id, (text[:300], reply)
    fuzz.bystander_is_served()


raw_frames = st.one_of(
    st.binary(max_size=300).map(lambda b: (b, True)),  # text frames that are rarely UTF-8
    st.binary(max_size=300).map(lambda b: (b, False)),  # binary frames out of place
    st.text(max_size=300).map(lambda t: (t, None)),
    st.tuples(st.sampled_from([b"RPUT", b"RGET", b"RBLK"]), st.binary(max_size=120)).map(
        lambda p: (p[0] + p[1], False)
    ),
    st.tuples(
        st.sampled_from(['{"id":1,"op":"auth.whoami"}', "{}", "[]", "1"]),
        st.text(min_size=1, max_size=20),
    ).map(
        lambda p: (p[0] + p[1], None)  # garbage after valid JSON
    ),
)


def check_raw(fuzz: Fuzz, frame: tuple[str | bytes, bool | None], anonymous: bool) -> None:
    answer(fuzz, frame[0], text=frame[1], anonymous=anonymous)
    fuzz.bystander_is_served()


def test_every_seed_request_is_valid(fuzz: Fuzz) -> None:
    """The fuzzer starts from requests the server accepts (or refuses for a reason of state),
    so mutations reach the handlers instead of stopping at the argument check."""
    for op in FUZZED_OPS:
        reply = fuzz.attacker.request(op, ROWS[op].valid_args(fuzz.world))
        assert reply["ok"] or reply["error"]["code"] not in ("invalid_args", "malformed"), (
            op,
            reply,
        )


FAST = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
LONG = settings(FAST, max_examples=3000)


@FAST
@given(data=st.data())
def test_mutated_requests_get_an_error_code_and_others_carry_on(
    fuzz: Fuzz, data: st.DataObject
) -> None:
    check_mutated(fuzz, data)


@FAST
@given(frame=raw_frames, anonymous=anonymously)
def test_random_frames_get_an_error_code_or_close_only_that_connection(
    fuzz: Fuzz, frame: tuple[str | bytes, bool | None], anonymous: bool
) -> None:
    check_raw(fuzz, frame, anonymous)


@pytest.fixture(scope="module")
def long_run(request: pytest.FixtureRequest, fuzz: Fuzz) -> Fuzz:
    """The long profile runs only when asked for (`pytest -m slow`): the default run keeps
    the examples above, which cost seconds."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long fuzzing profile: run with -m slow")
    return fuzz


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_mutated_requests_long(long_run: Fuzz, data: st.DataObject) -> None:
    check_mutated(long_run, data)


@pytest.mark.slow
@LONG
@given(frame=raw_frames, anonymous=anonymously)
def test_random_frames_long(
    long_run: Fuzz, frame: tuple[str | bytes, bool | None], anonymous: bool
) -> None:
    check_raw(long_run, frame, anonymous)


# ---------------------------------------------------------------------------- terminal controls
# Any text the server takes may end up on someone's terminal: a control character (C0 but the
# newline and tab a post may hold, DEL, C1) or a bidirectional control is refused in every text
# of every request, wherever it is put, paths too (newlines and tabs included); passwords are
# never shown.
CONTROLS = st.characters(categories=["Cc"], exclude_characters="\n\t") | st.sampled_from(
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)
PATH_CONTROLS = st.characters(categories=["Cc"]) | CONTROLS
PATH_FIELDS = {"path", "folder", "src", "dst"}
NO_RULE = {"password", "old_password", "new_password"}


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _field(path: tuple[Any, ...]) -> str:
    return next(step for step in reversed(path) if isinstance(step, str))


def text_leaves(world: World) -> list[tuple[str, tuple[Any, ...]]]:
    """(op, where) of every text in the fuzzer's valid requests."""
    return [
        (op, path)
        for op in FUZZED_OPS
        for path in leaves_of(ROWS[op].valid_args(world))
        if path
        and isinstance(_at(ROWS[op].valid_args(world), path), str)
        and _field(path) not in NO_RULE
    ]


@FAST
@given(data=st.data())
def test_a_control_character_in_any_text_is_refused(fuzz: Fuzz, data: st.DataObject) -> None:
    op, path = data.draw(st.sampled_from(text_leaves(fuzz.world)))
    args = ROWS[op].valid_args(fuzz.world)
    *parents, last = path
    holder = _at(args, tuple(parents))
    bad = data.draw(PATH_CONTROLS if _field(path) in PATH_FIELDS else CONTROLS)
    at = data.draw(st.integers(0, len(holder[last])))
    holder[last] = holder[last][:at] + bad + holder[last][at:]
    reply = fuzz.attacker.request(op, args)
    if reply["ok"] and op == "files.commit":  # a commit refuses item by item
        codes = {outcome.get("code") for outcome in reply["result"]["outcomes"]}
    else:
        codes = {None if reply["ok"] else reply["error"]["code"]}
    assert codes == {"invalid_args"}, (op, args, reply)
    fuzz.bystander_is_served()


# Search: what a person types is words, whatever else it holds. Punctuation an engine would
# read as syntax (FTS5's quotes, `*`, `^`, `:` of column filters, parentheses; tsquery's
# & | ! <-> :*) around the same words gives the same answer as the words alone. (Operators
# spelled in letters, NEAR or OR, are words: tests/storage/test_search_query.py.)
SEARCH_WORDS = ["alice", "hello", "garden", "secret", "dm", "plan", "notes", "followers", "only"]
SYNTAX = ['"', "*", "^", ":", "(", ")", "-", "+", "{", "}", "'", "\\", "|", "&", "!", "<->"]
SYNTAX += [":*", "' & '", '" "', ",", "\t", "  "]


@FAST
@given(
    words=st.lists(st.sampled_from(SEARCH_WORDS), min_size=1, max_size=4, unique=True),
    junk=st.lists(st.sampled_from(SYNTAX), min_size=1, max_size=8),
    data=st.data(),
)
def test_search_syntax_typed_is_not_syntax(
    fuzz: Fuzz, words: list[str], junk: list[str], data: st.DataObject
) -> None:
    pieces: list[str] = []
    for word in words:
        pieces += [data.draw(st.sampled_from(junk)), word, " "]
    typed = "".join(pieces).strip()[:200] or words[0]
    plain = fuzz.attacker.request("search.query", {"query": " ".join(words)})
    odd = fuzz.attacker.request("search.query", {"query": typed})
    if "\t" in typed:  # a tab is a control character: refused like any in single-line text
        assert odd["error"]["code"] == "invalid_args", (typed, odd)
        return
    assert plain["ok"] and odd["ok"], (typed, odd)
    assert odd["result"] == plain["result"], typed


@FAST
@given(query=st.text(min_size=1, max_size=200))
def test_any_search_text_is_answered_never_an_internal_error(fuzz: Fuzz, query: str) -> None:
    reply = fuzz.attacker.request("search.query", {"query": query})
    assert reply["ok"] or reply["error"]["code"] == "invalid_args", (query, reply)
    fuzz.bystander_is_served()


# ---------------------------------------------------------------------------- found by fuzzing
DEEP = "[" * 20_000 + "]" * 20_000


@pytest.mark.parametrize(
    ("op", "args", "code", "says"),
    [
        # msgspec's RecursionError escaped the decoder and killed the connection (1011)
        ("chat.catch_up", DEEP, "malformed", "nested too deeply"),
        ("profile.set", '{"bio": ' + DEEP + "}", "malformed", "nested too deeply"),
        # numbers past 64 bits reached SQLite and came back as `internal`
        (
            "files.changes",
            '{"namespace_id": "9999999999999999999"}',
            "invalid_args",
            "namespace_id",
        ),
        ("chat.typing", '{"conversation": "9223372036854775808"}', "invalid_args", "conversation"),
        (
            "chat.delivered",
            '{"cursors": [{"conversation": "9999999999999999999", "seq": 1}]}',
            "invalid_args",
            "cursors[0].conversation must be an id (a whole number",
        ),
        ("devices.revoke", '{"device_id": "18446744073709551616"}', "invalid_args", "device_id"),
        ("files.attach", '{"name": "a", "size": 18446744073709551616}', "invalid_args", "size"),
    ],
    ids=["deep-args", "deep-field", "ns-id", "conv-id", "cursor-id", "device-id", "size"],
)
def test_crashes_found_by_fuzzing_stay_fixed(
    fuzz: Fuzz, op: str, args: str, code: str, says: str
) -> None:
    reply = answer(fuzz, f'{{"id": 77, "op": "{op}", "args": {args}}}')
    assert reply is not None and reply["id"] == 77, reply
    assert reply["error"]["code"] == code and says in reply["error"]["message"], reply
    fuzz.bystander_is_served()


# ---------------------------------------------------------------------------- limits, memory
def test_frames_the_socket_refuses(fuzz: Fuzz) -> None:
    """Invalid UTF-8 in a text frame: only that connection is closed (1007)."""
    for frame in (b'{"id": 1, "op": "auth.whoami", "args": {"x": "\xff\xfe"}}', b"\xc3("):
        assert answer(fuzz, frame, text=True) is None
        fuzz.bystander_is_served()


def test_frames_over_the_limits(fuzz: Fuzz) -> None:
    """Over the request limit: `too_large`, the connection stays. Over the frame limit: only
    that connection is closed (1009)."""
    reply = answer(
        fuzz, json.dumps({"id": 5, "op": "profile.set", "args": {"bio": "x" * (70 << 10)}})
    )
    assert reply is not None and reply["id"] == 5 and reply["error"]["code"] == "too_large"
    for frame in ("x" * (5 << 20), b"RPUT" + bytes(5 << 20)):
        assert answer(fuzz, frame) is None  # closed with 1009, reconnected
        fuzz.bystander_is_served()


def test_frames_over_the_anonymous_limit(fuzz: Fuzz) -> None:
    """Until it logs in, a connection may send only what registering or logging in needs: a
    frame over 64 KiB (a request a device would get `too_large` for, or a whole block) closes
    it with 1009, and only it."""
    login = {"username": "alice", "password": "x" * (70 << 10)}
    peer = fuzz.anonymous
    for frame in (json.dumps({"id": 6, "op": "auth.login", "args": login}), bytes(1 << 20)):
        peer.send(frame)
        with pytest.raises(ConnectionClosed):
            peer.reply()
        assert peer.ws.close_code == 1009, peer.ws.close_reason
        peer.reconnect()
        fuzz.bystander_is_served()
    reply = answer(fuzz, json.dumps({"id": 7, "op": "auth.whoami"}), anonymous=True)
    assert reply is not None and reply["error"]["code"] == "unauthenticated"


def bad_round(fuzz: Fuzz, rng: random.Random) -> None:
    """300 bad frames of about 60 KiB (1 MiB for blocks): a leak of even a part shows."""
    big = rng.randbytes(1 << 20)
    for i in range(300):
        kind = i % 6
        if kind == 0:
            frame: str | bytes = json.dumps(
                {"id": i, "op": "profile.set", "args": {"bio": "é" * 60_000}}
            )
        elif kind == 1:
            frame = f'{{"id": {i}, "op": "auth.whoami", "args": {{"x": "' + "y" * 60_000
        elif kind == 2:
            depth = rng.randint(25_000, 30_000)
            frame = (
                f'{{"id": {i}, "op": "chat.catch_up", "args": ' + "[" * depth + "]" * depth + "}"
            )
        elif kind == 3:
            frame = "z" * (100 << 10)  # over the request limit: too_large
        elif kind == 4:
            digest = hashlib.sha256(str(i).encode()).digest()  # not the payload's: refused
            frame = files_wire.encode_block_frame(
                files_wire.PUT, i, digest, files_wire.Codec.RAW, big
            )
        else:
            frame = json.dumps({"id": i, "op": "chat.catch_up", "args": {}})
        assert answer(fuzz, frame) is not None
    assert answer(fuzz, "x" * (5 << 20)) is None  # one connection dropped per round
    fuzz.bystander_is_served()


def test_memory_stays_flat_under_repeated_bad_input(fuzz: Fuzz) -> None:
    """About 60 MiB of bad frames per round: after two rounds of warm-up (allocator arenas,
    caches), four more rounds may not grow the server's RSS by more than 10 MiB."""
    rng = random.Random(7)
    for _ in range(2):
        bad_round(fuzz, rng)
    warm = fuzz.server.rss_bytes()
    for _ in range(4):
        bad_round(fuzz, rng)
    grown = fuzz.server.rss_bytes() - warm
    assert grown < 10 << 20, f"server RSS grew by {grown / (1 << 20):.1f} MiB over 4 rounds"
