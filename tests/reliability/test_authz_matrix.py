"""The authorization matrix, generated from the op registry: every op is tried anonymously,
as a stranger (another user, a non-member of alice's group and share, and not an admin:
alice is the server's admin) and, where a role applies, as a member with a lesser role, a
former member or someone invited to the share who has not accepted (not a member). A refusal
must carry the expected code and nothing else; an op open to every signed-in user must not
hand out any of alice's private data; and after all of it alice's things are exactly as they
were. A disabled account (dora) calls nothing at all: its token is refused at the handshake,
and a live connection of an account being disabled is closed. A new op without a row in
`attacks.ROWS` fails this test, so it cannot skip the matrix."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from protocol import files as files_wire
from protocol.ops import OPS
from tests.reliability.attacks import ROWS, Attempt
from tests.reliability.live import Peer, RoostProcess, login, register
from tests.reliability.world import DIARY_PATH, PLAN_PATH, World, build_world, key


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = RoostProcess(Path(tmp_path_factory.mktemp("authz")))
    try:
        yield build_world(server.url)
        assert server.alive
        assert not server.errors_logged(), server.errors_logged()
    finally:
        server.stop()


def test_every_op_in_the_registry_has_a_row() -> None:
    assert sorted(set(OPS) - set(ROWS)) == [], "ops without a row in the authorization matrix"
    assert sorted(set(ROWS) - set(OPS)) == [], "rows for ops that no longer exist"
    for op, row in ROWS.items():
        guarded = any(a.code is not None and a.who != "anonymous" for a in row.attempts)
        assert guarded or row.open_because, f"{op}: no refusal tried and no reason it is open"


def leaks(world: World, who: str, request: Any, reply: dict[str, Any]) -> list[str]:
    """Alice's secrets in a reply that the request did not carry and `who` may not know."""
    asked, answered = json.dumps(request), json.dumps(reply)
    known = world.known.get(who, set())
    return [
        name
        for name, secret in world.secrets.items()
        if name not in known and secret in answered and secret not in asked
    ]


def alice_snapshot(world: World) -> dict[str, Any]:
    """What alice sees of her own things: nothing any attempt may change."""
    alice = world.peer("alice")
    try:
        thread = alice.call("post.thread", {"post_id": world.ids["post"]})
        return {
            "devices": sorted(d["id"] for d in alice.call("devices.list")["devices"]),
            "profile": alice.call("profile.get", {}),
            "post": {k: thread["post"][k] for k in ("id", "text", "attachments")},
            "conversations": alice.call("chat.list")["conversations"],
            "dm": alice.call("chat.history", {"to": world.ids["dm"]}),
            "group": alice.call("chat.history", {"to": world.ids["group"]}),
            "shares": alice.call("files.shares")["shares"],
            "home": alice.call("files.changes", {"namespace_id": world.ids["home"]}),
            "share": alice.call("files.changes", {"namespace_id": world.ids["share"]}),
            "attachment": alice.call("media.get", {"attachment_id": world.ids["attachment"]}),
            # others may like, repost and follow (new notifications), never move her marker
            "read marker": alice.call("notifications.list", {})["read_up_to"],
            # others' blocks and mutes never touch hers
            "blocks": alice.call("block.list"),
            "mutes": alice.call("mute.list"),
            # nobody but an admin changes who is one, who is disabled, or the invites
            "accounts": [
                (u["username"], u["role"], u["disabled_at"] is not None)
                for u in alice.call("admin.users.list")["users"]
            ],
            "invites": alice.call("admin.invites.list")["invites"],
            # nobody else makes, lists or takes down her public links
            "links": alice.call("link.list")["links"],
        }
    finally:
        alice.close()


class Attackers:
    def __init__(self, world: World) -> None:
        self.world = world
        self.peers: dict[str, Peer] = {}

    def peer(self, who: str) -> Peer:
        if who == "mallory-spare":  # an op that ends the device: a fresh one each time
            return Peer(self.world.url, login(self.world.url, "mallory", "spare")["token"])
        if who not in self.peers:
            token = None if who == "anonymous" else self.world.tokens[who]
            self.peers[who] = Peer(self.world.url, token)
        return self.peers[who]

    def close(self) -> None:
        for peer in self.peers.values():
            peer.close()


def run(attackers: Attackers, op: str, attempt: Attempt, who: str | None = None) -> None:
    world, who = attackers.world, who or attempt.who
    args = attempt.args(world)
    reply = attackers.peer(who).request(op, args, request_id=41)
    where = f"{op} as {who} with {args}: {reply}"
    leaked = leaks(world, who, args, reply)
    assert not leaked, f"leak of {leaked}: {where}"
    expected = "unauthenticated" if who == "anonymous" and OPS[op].needs_auth else attempt.code
    if expected is None:
        assert reply["ok"] is True, where
        if attempt.check is not None:
            attempt.check(world, reply["result"])
        return
    error = reply.get("error") or {}
    assert reply == {
        "id": 41,
        "ok": False,
        "error": {"code": expected, "message": error.get("message")},
    }, where
    assert error["message"], where


def test_every_op_refuses_or_reveals_nothing_of_alices(world: World) -> None:
    before = alice_snapshot(world)
    attackers = Attackers(world)
    try:
        for op in sorted(OPS):
            for attempt in ROWS[op].attempts:
                run(attackers, op, attempt, "anonymous")
                run(attackers, op, attempt)
    finally:
        attackers.close()
    assert alice_snapshot(world) == before


@pytest.mark.parametrize("who", ["mallory", "carol", "penny"])
def test_blocks_of_alice_cannot_be_fetched_by_hash(world: World, who: str) -> None:
    """Not by a stranger, nor by a former editor of the share that holds one of them, nor by
    someone invited to it who has not accepted."""
    peer = world.peer(who)
    try:
        for name, block in world.hashes.items():
            peer.send(files_wire.encode_block_frame(files_wire.GET, 9, bytes.fromhex(block)))
            reply = peer.reply()
            assert isinstance(reply, dict), f"{name} block was sent to {who}"
            assert reply["ok"] is False and reply["error"]["code"] == "not_found", reply
    finally:
        peer.close()


def test_a_viewer_reads_the_share_but_not_alices_home(world: World) -> None:
    """The positive side of the share row: bob sees `team`, not the rest of alice's home."""
    bob = world.peer("bob")
    try:
        entries = bob.call("files.changes", {"namespace_id": world.ids["share"]})["entries"]
        assert [e["path"] for e in entries] == [PLAN_PATH]
        reply = bob.request(
            "files.history", {"namespace_id": world.ids["home"], "path": DIARY_PATH}
        )
        assert reply["error"]["code"] == "not_found"
        bob.send(
            files_wire.encode_block_frame(files_wire.GET, 3, bytes.fromhex(world.hashes["plan"]))
        )
        assert isinstance(bob.reply(), bytes)  # a share's blocks are readable by its viewer
    finally:
        bob.close()


def test_events_of_alices_things_reach_members_only(world: World) -> None:
    """Pushed events are replies nobody asked for: while alice writes to her group and her
    share and types, the stranger, the removed member and the one invited (not accepted) get
    nothing of it; bob does."""
    peers = {who: world.peer(who) for who in ("mallory", "carol", "penny", "bob")}
    alice = world.peer("alice")
    try:
        group, share = world.ids["group"], world.ids["share"]
        late = "alice-late-group-secret-0c4d"
        world.secrets["late group text"] = late
        alice.call("chat.typing", {"conversation": group})
        alice.call("chat.send", {"to": group, "text": late, "client_id": key()})
        revised = b"the plan, revised " + uuid.uuid4().bytes
        block = alice.put_block(revised)
        item = {"path": "plan-v2.txt", "parent_id": None, "size": len(revised), "blocks": [block]}
        alice.call("files.commit", {"namespace_id": share, "items": [item]})
        for peer in peers.values():
            peer.call("auth.whoami")  # queued after any event those writes caused
        for who in ("mallory", "carol", "penny"):
            got = peers[who].events
            leaked = leaks(world, who, {}, {"events": got})
            assert not leaked and not any(share in json.dumps(e) for e in got), (who, got)
        kinds = {e["event"] for e in peers["bob"].events}
        assert {"chat.typing", "chat.message", "files.changed"} <= kinds, peers["bob"].events
    finally:
        for peer in (alice, *peers.values()):
            peer.close()


def test_guessing_alices_password_gets_refusals_and_slows_down(world: World) -> None:
    """The auth.login row over and over from one address (not the one the matrix uses): each
    answer is a refusal, first `invalid_credentials` then `rate_limited` with the seconds to
    wait, and never a token; alice still logs in from her own address meanwhile."""
    guesser = Peer(world.url, source="127.0.0.5")
    try:
        codes = []
        for i in range(10):
            reply = guesser.request(
                "auth.login", {"username": "alice", "password": f"guess {i:04d}"}
            )
            assert reply["ok"] is False and "result" not in reply, reply
            error = reply["error"]
            codes.append(error["code"])
            if error["code"] == "rate_limited":
                assert 0 < error["retry_after"] <= 900 and "retry in" in error["message"], reply
        assert codes == ["invalid_credentials"] * 5 + ["rate_limited"] * 5
    finally:
        guesser.close()
    assert login(world.url, "alice", "after the guesses")["username"] == "alice"


def test_a_disabled_account_can_call_no_op(world: World) -> None:
    """dora (an admin, disabled): every op is refused before it is read, at the handshake."""
    for op in sorted(OPS):
        with pytest.raises(InvalidStatus) as refused:
            Peer(world.url, world.tokens["dora"]).request(op, {}, request_id=41)
        response = refused.value.response
        assert response.status_code == 403, op
        assert response.body == b"this account is disabled: ask the server's admin\n", op


def test_disabling_closes_the_accounts_live_connection(world: World) -> None:
    erin = register(world.url, "erin")
    live = Peer(world.url, erin["token"])
    assert live.call("auth.whoami")["username"] == "erin"
    alice = world.peer("alice")
    try:
        alice.call("admin.users.disable", {"username": "erin"})
        with pytest.raises(ConnectionClosed) as closed:
            live.reply()  # nothing more comes but the close
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
        assert closed.value.rcvd.reason == "this account is disabled: ask the server's admin"
        with pytest.raises(InvalidStatus):
            Peer(world.url, erin["token"])
    finally:
        alice.call("admin.users.enable", {"username": "erin"})
        alice.close()
        live.close()
