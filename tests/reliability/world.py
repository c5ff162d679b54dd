"""Alice's world on a live server: things of hers that others must not see or change.

alice   a public post, a direct conversation and a group with bob (both with a message),
        a private file in her home, a folder `team` shared with bob as a viewer, an
        attachment on no post, a spare device, notifications (bob likes and mentions her)
bob     alice's friend: in her group, viewer of `team` (he accepted the invitation)
carol   a former member: removed from alice's group and from `team` (she was an editor);
        she keeps the group's history up to her removal, nothing after, and nothing of `team`
penny   invited to `team` as an editor, not answered yet: not a member, so nothing of it
mallory a stranger: in none of alice's conversations or shares
lena    a locked account: a followers-only post (#hushhush42) carrying an attachment; carol
        asked to follow her and waits, nobody was approved, so nobody else sees any of it
dora    a disabled account (an admin, disabled by alice): its token is refused at the
        handshake, so it can call nothing

alice is the server's admin (its first account) and holds an invite code nobody has used.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.reliability.live import Peer, login, register


def key() -> str:
    """A fresh idempotency key."""
    return uuid.uuid4().hex


@dataclass
class World:
    url: str
    tokens: dict[str, str]  # alice, bob, carol, penny, mallory
    ids: dict[str, str]  # names below -> ids
    hashes: dict[str, str]  # diary, plan, attachment -> block hash
    sizes: dict[str, int] = field(default_factory=dict)  # the same -> the block's raw size
    # Strings of alice's that only she (and for shared things, bob) may ever receive.
    secrets: dict[str, str] = field(default_factory=dict)
    # Which of those each person may legitimately have received.
    known: dict[str, set[str]] = field(default_factory=dict)

    def peer(self, who: str) -> Peer:
        return Peer(self.url, self.tokens[who])


DIARY_PATH = "diary/notes-of-alice.txt"
PLAN_PATH = "plan.txt"  # inside the shared folder `team`


def build_world(url: str) -> World:
    names = ("alice", "bob", "carol", "penny", "mallory", "lena", "dora")
    sessions = {name: register(url, name) for name in names}
    spare = login(url, "alice", "spare-phone")
    world = World(url, {n: s["token"] for n, s in sessions.items()}, {}, {})
    world.ids["alice_device"] = sessions["alice"]["device_id"]
    world.ids["alice_spare_device"] = spare["device_id"]
    alice, bob, mallory = world.peer("alice"), world.peer("bob"), world.peer("mallory")
    try:
        _social(world, alice, bob)
        _chat(world, alice)
        _files(world, alice, bob, mallory)
        _locked(world)
        _admin(world, alice)
    finally:
        for peer in (alice, bob, mallory):
            peer.close()
    world.secrets.update(
        {
            "dm text": "alice-dm-secret-7f3a",
            "group text": "alice-group-secret-91bc",
            "group name": "alice-secret-circle",
            "group text after carol": "alice-group-after-carol-5d1e",
            "diary path": DIARY_PATH,
            "diary block": world.hashes["diary"],
            "plan block": world.hashes["plan"],
            "attachment block": world.hashes["attachment"],
            "attachment name": "alice-private-scan.bin",
            "alice device": world.ids["alice_device"],
            "alice spare device": world.ids["alice_spare_device"],
            "home namespace": world.ids["home"],
            "share namespace": world.ids["share"],
            "dm id": world.ids["dm"],
            "group id": world.ids["group"],
            "attachment id": world.ids["attachment"],
            "plan version": world.ids["plan_version"],
            "notification": world.ids["notification"],
            "penny invitation": world.ids["penny_invitation"],
            "lena post text": LENA_TEXT,
            "lena tag": "hushhush42",
            "lena attachment name": "lena-only-photo.bin",
            "lena attachment block": world.hashes["lena"],
            "invite code": world.ids["invite_code"],
            "link id": world.ids["link"],
            "link token": world.ids["link_token"],
        }
    )
    world.known = {
        "carol": {"group text", "group name", "group id", "share namespace"},
        "penny": {"penny invitation"},
        "bob": {"dm text", "dm id", "group text", "group text after carol", "group name"}
        | {"group id", "share namespace", "plan block", "plan version"},
    }
    return world


def _admin(world: World, alice: Peer) -> None:
    made = alice.call("admin.invites.create", {"uses": 3})
    world.ids["invite"], world.ids["invite_code"] = made["invite"]["id"], made["code"]
    alice.call("admin.users.promote", {"username": "dora"})
    alice.call("admin.users.disable", {"username": "dora"})


def _social(world: World, alice: Peer, bob: Peer) -> None:
    post = alice.call("post.create", {"text": "hello from alice #garden", "client_id": key()})
    world.ids["post"] = post["id"]
    bob.call("post.like", {"post_id": post["id"], "client_id": key()})
    bob.call("post.create", {"text": "hi @alice", "client_id": key()})
    notes = alice.call("notifications.list", {})["notifications"]
    world.ids["notification"] = notes[0]["id"]


def _chat(world: World, alice: Peer) -> None:
    dm = alice.call("chat.send", {"to": "@bob", "text": "alice-dm-secret-7f3a", "client_id": key()})
    world.ids["dm"] = dm["conversation"]
    group = alice.call(
        "chat.group.create",
        {"name": "alice-secret-circle", "members": ["bob", "carol"], "client_id": key()},
    )
    world.ids["group"] = group["id"]
    for text in ("alice-group-secret-91bc", "alice-group-after-carol-5d1e"):
        alice.call("chat.send", {"to": group["id"], "text": text, "client_id": key()})
        if text.endswith("91bc"):
            args = {"conversation": group["id"], "username": "carol", "client_id": key()}
            alice.call("chat.group.remove", args)


LENA_TEXT = "lena-followers-only-3b7e #hushhush42"


def _locked(world: World) -> None:
    lena, carol = world.peer("lena"), world.peer("carol")
    try:
        lena.call("profile.set", {"locked": True, "client_id": key()})
        photo = b"lena's photo for her followers " + uuid.uuid4().bytes
        block = lena.put_block(photo)
        attachment = lena.call(
            "files.attach",
            {
                "name": "lena-only-photo.bin",
                "size": len(photo),
                "blocks": [block],
                "client_id": key(),
            },
        )
        post = lena.call(
            "post.create",
            {"text": LENA_TEXT, "attachments": [attachment["id"]], "client_id": key()},
        )
        asked = carol.call("follow.add", {"username": "lena", "client_id": key()})
        assert asked["requested"] is True, asked
    finally:
        lena.close()
        carol.close()
    world.ids.update(lena_post=post["id"], lena_attachment=attachment["id"])
    world.hashes["lena"] = block


def _accept(peer: Peer) -> str:
    """Accept the one invitation waiting for this peer; returns its id."""
    [invitation] = peer.call("files.shares")["invitations"]
    peer.call("files.share.accept", {"invitation_id": invitation["id"], "client_id": key()})
    return str(invitation["id"])


def _files(world: World, alice: Peer, bob: Peer, mallory: Peer) -> None:
    spaces = alice.call("files.namespaces", {})["namespaces"]
    world.ids["home"] = home = spaces[0]["id"]
    world.ids["mallory_home"] = mallory.call("files.namespaces", {})["namespaces"][0]["id"]
    contents = {
        "diary": b"alice's diary, never shared " + uuid.uuid4().bytes,
        "plan": b"the team plan " + uuid.uuid4().bytes,
        "attachment": b"a scan alice keeps to herself " + uuid.uuid4().bytes,
    }
    world.sizes.update((name, len(data)) for name, data in contents.items())
    diary, plan = alice.put_block(contents["diary"]), alice.put_block(contents["plan"])
    items = [
        _item(DIARY_PATH, diary, world.sizes["diary"]),
        _item("team/" + PLAN_PATH, plan, world.sizes["plan"]),
    ]
    outcomes = alice.call("files.commit", {"namespace_id": home, "items": items})["outcomes"]
    assert all("entry" in o for o in outcomes), outcomes
    world.ids["diary_version"] = outcomes[0]["entry"]["version_id"]
    share = alice.call(
        "files.share", {"folder": "team", "username": "bob", "role": "viewer", "client_id": key()}
    )
    world.ids["share"] = share["namespace_id"]
    _accept(bob)
    carol, penny = world.peer("carol"), world.peer("penny")
    try:
        alice.call(
            "files.share",
            {"folder": "team", "username": "carol", "role": "editor", "client_id": key()},
        )
        _accept(carol)
        alice.call("files.unshare", {"folder": "team", "username": "carol", "client_id": key()})
        alice.call(
            "files.share",
            {"folder": "team", "username": "penny", "role": "editor", "client_id": key()},
        )
        [invitation] = penny.call("files.shares")["invitations"]
        world.ids["penny_invitation"] = invitation["id"]
    finally:
        carol.close()
        penny.close()
    entries = alice.call("files.changes", {"namespace_id": share["namespace_id"]})["entries"]
    world.ids["plan_version"] = next(e["version_id"] for e in entries if e["path"] == PLAN_PATH)
    scan = alice.put_block(contents["attachment"])
    attachment = alice.call(
        "files.attach",
        {
            "name": "alice-private-scan.bin",
            "size": world.sizes["attachment"],
            "blocks": [scan],
            "client_id": key(),
        },
    )
    world.ids["attachment"] = attachment["id"]
    world.hashes.update(diary=diary, plan=plan, attachment=scan)
    link = alice.call("link.create", {"namespace_id": world.ids["home"], "path": DIARY_PATH})
    world.ids["link"], world.ids["link_token"] = link["link"]["id"], link["token"]


def _item(path: str, block: str, size: int) -> dict[str, Any]:
    return {"path": path, "parent_id": None, "size": size, "mtime_ms": 1, "blocks": [block]}
