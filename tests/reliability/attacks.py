"""How to attack alice's things with every op in the registry: the table the authorization
matrix runs, and the valid requests the fuzzer starts from.

Each op has one `Row`: attempts made as another user (`mallory`, a stranger and non-member),
as `bob` where a role applies (a viewer of alice's share, a non-creator member of her group),
as `penny` where an invitation could be mistaken for membership (invited to the share, not
answered), and the reason when the op is open to every signed-in user. A refused attempt
names the code it must get; an allowed one is checked for leaks of alice's data.
`valid(world)` is a request alice herself may make: the fuzzer's starting point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.reliability.world import DIARY_PATH, PLAN_PATH, World, key

Args = Callable[[World], dict[str, Any]]
Check = Callable[[World, dict[str, Any]], None]


@dataclass(frozen=True)
class Attempt:
    who: str  # "mallory" (a stranger), "bob" (a lesser role), "carol" (former), "penny" (invited)
    args: Args
    code: str | None  # the refusal expected; None: allowed, and checked for leaks
    check: Check | None = None  # more about an allowed result


@dataclass(frozen=True)
class Row:
    attempts: list[Attempt]
    open_because: str = ""  # why every signed-in user may call it (empty: it guards something)
    fuzz: bool = True  # False: sending it as the fuzzing device would end the run
    valid: Args | None = None  # alice's own valid request; default: the first attempt's args

    def valid_args(self, world: World) -> dict[str, Any]:
        return (self.valid or self.attempts[0].args)(world)


def refused(code: str, who: str = "mallory") -> Callable[[Args], Attempt]:
    return lambda args: Attempt(who, args, code)


def allowed(args: Args, check: Check | None = None) -> Attempt:
    return Attempt("mallory", args, None, check)


def empty(world: World) -> dict[str, Any]:
    return {}


def ids(*names: str) -> Callable[[World], list[str]]:
    return lambda world: [world.ids[n] for n in names]


# --------------------------------------------------------------------------- checks
def none_of_alices_conversations(world: World, result: dict[str, Any]) -> None:
    theirs = {world.ids["dm"], world.ids["group"]}
    assert not theirs & {c["id"] for c in result["conversations"]}, result
    assert not theirs & {m["conversation"] for m in result.get("messages", [])}, result


def no_links_of_alice(world: World, result: dict[str, Any]) -> None:
    assert world.ids["link"] not in {link["id"] for link in result["links"]}, result


def nothing_readable(world: World, result: dict[str, Any]) -> None:
    # knowing a hash is not access: every one of alice's blocks counts as missing
    assert result["hashes"] == list(world.hashes.values()), result


def block_claim_refused(world: World, result: dict[str, Any]) -> None:
    assert [o.get("code") for o in result["outcomes"]] == ["not_found"], result


def history_until_removal(world: World, result: dict[str, Any]) -> None:
    assert [m["kind"] for m in result["messages"]] == ["created", "text", "removed"], result


def nothing_of_alices(world: World, result: dict[str, Any]) -> None:
    """A search by someone with no part in alice's conversations or files."""
    assert result["messages"] == [] and result["files"] == [], result


def group_text_before_carol(world: World, result: dict[str, Any]) -> None:
    assert [m["text"] for m in result["messages"]] == ["alice-group-secret-91bc"], result
    assert result["files"] == [], result


def the_shared_plan(world: World, result: dict[str, Any]) -> None:
    found = [(f["namespace_id"], f["namespace"], f["path"]) for f in result["files"]]
    assert found == [(world.ids["share"], "team", PLAN_PATH)], result


def only_own_namespace(world: World, result: dict[str, Any]) -> None:
    assert [n["id"] for n in result["namespaces"]] == [world.ids["mallory_home"]], result


def only_a_home(world: World, result: dict[str, Any]) -> None:
    assert [n["kind"] for n in result["namespaces"]] == ["home"], result


def no_shares(world: World, result: dict[str, Any]) -> None:
    assert result["shares"] == [] and result["invitations"] == [], result


def an_invitation_only(world: World, result: dict[str, Any]) -> None:
    """Penny sees who offered her what, and nothing of the share itself."""
    assert result["shares"] == [], result
    assert [(i["id"], i["folder"], i["owner"]) for i in result["invitations"]] == [
        (world.ids["penny_invitation"], "team", "alice")
    ], result


def alice_not_a_contact(world: World, result: dict[str, Any]) -> None:
    assert "alice" not in {u["user"] for u in result["users"]}, result


def no_notifications(world: World, result: dict[str, Any]) -> None:
    assert result["notifications"] == [] and result["unread"] == 0, result


def only_own_devices(world: World, result: dict[str, Any]) -> None:
    assert len(result["devices"]) == 1 and result["devices"][0]["current"], result


def no_requests(world: World, result: dict[str, Any]) -> None:
    assert result["requests"] == [], result


def nothing_of_lenas(world: World, result: dict[str, Any]) -> None:
    """Lena is locked and nobody was approved: her posts are not there for anyone else."""
    assert result["posts"] == [], result


def lenas_post(world: World) -> dict[str, Any]:
    return {"post_id": world.ids["lena_post"], "client_id": key()}


def answer_carols_request(world: World) -> dict[str, Any]:
    """Carol's request waits for lena: nobody else can approve or decline it."""
    return {"username": "carol", "client_id": key()}


def only_own_posts(world: World, result: dict[str, Any]) -> None:
    assert {p["author"] for p in result["posts"]} <= {"mallory"}, result


def the_share_only(world: World, result: dict[str, Any]) -> None:
    """Bob, a viewer of `team`, exports its versions: the plan, nothing of alice's home."""
    paths = [v["path"] for v in result["versions"]]
    assert PLAN_PATH in paths and DIARY_PATH not in paths, result


def mallory_herself(world: World, result: dict[str, Any]) -> None:
    assert result["username"] == "mallory", result


def acknowledged_only(world: World, result: dict[str, Any]) -> None:
    assert result == {}, result


def alice_on_the_list(field: str, on: bool) -> Check:
    """mallory's own list changed (alice's public profile comes back, nothing else of hers)."""

    def check(world: World, result: dict[str, Any]) -> None:
        assert result["username"] == "alice", result
        assert result[field] is on, result

    return check


def only_mallorys_list(world: World, result: dict[str, Any]) -> None:
    """The .add row just put alice on mallory's own list: that, and nothing of alice's."""
    assert [u["username"] for u in result["users"]] == ["alice"], result


def hide_rows(kind: str) -> dict[str, Row]:
    """block.* and mute.*: mallory puts alice on her own list, reads it, takes her off (in
    that order, as the matrix runs ops sorted by name), so the ops after see no block."""
    own = "acts only on the caller's own private list"
    field = {"block": "blocked", "mute": "muted"}[kind]
    ref = lambda name: lambda w: {"username": name, "client_id": key()}  # noqa: E731
    return {
        f"{kind}.add": Row(
            [
                allowed(ref("alice"), alice_on_the_list(field, True)),
                refused("invalid_args")(ref("mallory")),  # not oneself
                refused("not_found")(ref("nobody")),
            ],
            open_because=own,
            valid=ref("mallory"),  # alice's own request
        ),
        f"{kind}.list": Row([allowed(empty, only_mallorys_list)], open_because=own),
        f"{kind}.remove": Row(
            [allowed(ref("alice"), alice_on_the_list(field, False))],
            open_because=own,
            valid=ref("mallory"),
        ),
    }


def commit_item(path: str, version: str | None = None, block: str = "diary") -> Args:
    def build(world: World) -> dict[str, Any]:
        return {
            "path": path,
            "parent_id": world.ids[version] if version else None,
            "size": world.sizes[block],
            "mtime_ms": 2,
            "blocks": [world.hashes[block]],
        }

    return build


def invitation_answer(world: World) -> dict[str, Any]:
    return {"invitation_id": world.ids["penny_invitation"], "client_id": key()}


def announce(namespace: str) -> Args:
    return lambda w: {
        "namespace_id": w.ids[namespace],
        "path": "big.iso",
        "upload_id": "on-its-way",
    }


def commit(namespace: str, item: Args) -> Args:
    return lambda w: {"namespace_id": w.ids[namespace], "items": [item(w)], "client_id": key()}


PUBLIC = (
    "posts, profiles and the follow graph are public to every signed-in user, but a locked"
    " account's posts reach its approved followers only"
)
OWN = "acts only on the caller's own data"

# ----------------------------------------------------------------------------- the table
ROWS: dict[str, Row] = {
    # accounts
    "auth.register": Row(
        [refused("username_taken")(lambda w: {"username": "Alice", "password": "guessing123"})],
        open_because="creating an account needs no login; taking alice's name must fail",
    ),
    "auth.login": Row(
        [refused("invalid_credentials")(lambda w: {"username": "alice", "password": "guess1234"})],
        open_because="logging in needs no login; a wrong password must fail",
    ),
    "auth.logout": Row(
        [Attempt("mallory-spare", empty, None, acknowledged_only)],
        open_because="revokes only the calling device",
        fuzz=False,
    ),
    "auth.whoami": Row([allowed(empty, mallory_herself)], open_because=OWN),
    "devices.list": Row([allowed(empty, only_own_devices)], open_because=OWN),
    "account.usage": Row([allowed(empty)], open_because=OWN),
    "devices.revoke": Row(
        [refused("not_found")(lambda w: {"device_id": w.ids["alice_spare_device"]})]
    ),
    # changing or ending an account
    "auth.change_password": Row(
        [
            refused("invalid_credentials")(
                lambda w: {"old_password": "guess1234", "new_password": "mallory's own new one"}
            )
        ],
        open_because="changes only the caller's own password, and only with the old one",
    ),
    "auth.reset_password": Row(
        [
            refused("invalid_credentials")(
                lambda w: {"code": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", "new_password": "taken over"}
            )
        ],
        open_because="redeeming a reset code needs no login; a code nobody issued must fail",
    ),
    "admin.reset_password": Row(
        [
            refused("forbidden")(lambda w: {"username": "alice"}),
            refused("forbidden", "bob")(lambda w: {"username": "alice"}),
        ],
        valid=lambda w: {"username": "mallory"},
    ),
    "admin.delete_user": Row(
        [
            refused("forbidden")(lambda w: {"username": "alice"}),
            refused("forbidden", "bob")(lambda w: {"username": "carol"}),
        ],
        fuzz=False,  # alice is the world's admin: a mutated name would delete the bystander
    ),
    # admin: only the admin (alice, the server's first account) may; a member is refused
    "admin.invites.create": Row([refused("forbidden")(lambda w: {"uses": 2, "expires_in": 60})]),
    "admin.invites.list": Row([refused("forbidden")(empty)]),
    "admin.invites.revoke": Row(
        [refused("forbidden")(lambda w: {"code": w.ids["invite"]})],
        valid=lambda w: {"code": "abcdef12"},  # no such invite: alice's live one stays
    ),
    "admin.users.list": Row([refused("forbidden")(empty)]),
    "admin.users.disable": Row(
        [refused("forbidden")(lambda w: {"username": "alice"})],
        fuzz=False,  # alice fuzzes: a name drawn as "bob" would cut off the bystander
    ),
    "admin.users.enable": Row([refused("forbidden")(lambda w: {"username": "dora"})]),
    "admin.users.promote": Row([refused("forbidden")(lambda w: {"username": "mallory"})]),
    "admin.users.demote": Row(
        [refused("forbidden")(lambda w: {"username": "alice"})],
        valid=lambda w: {"username": "carol"},  # a member already: nothing changes
    ),
    # profiles
    "profile.get": Row([allowed(lambda w: {"username": "alice"})], open_because=PUBLIC),
    "profile.set": Row(
        [allowed(lambda w: {"bio": "mallory's own bio", "client_id": key()})], open_because=OWN
    ),
    # social
    "post.create": Row(
        [
            refused("not_found")(
                lambda w: {"text": "look", "attachments": [w.ids["attachment"]], "client_id": key()}
            )
        ],
        valid=lambda w: {"text": "hi #x @bob", "reply_to": w.ids["post"], "client_id": key()},
    ),
    "post.repost": Row(
        [
            allowed(lambda w: {"post_id": w.ids["post"], "client_id": key()}),
            refused("not_found")(lenas_post),  # locked: not there for a stranger
            refused("not_found", "carol")(lenas_post),  # nor for someone still asking
        ],
        open_because=PUBLIC,
    ),
    "post.delete": Row(
        [refused("forbidden")(lambda w: {"post_id": w.ids["post"], "client_id": key()})]
    ),
    "post.like": Row(
        [
            allowed(lambda w: {"post_id": w.ids["post"], "client_id": key()}),
            refused("not_found")(lenas_post),
            refused("not_found", "carol")(lenas_post),
        ],
        open_because=PUBLIC,
    ),
    "post.unlike": Row(
        [allowed(lambda w: {"post_id": w.ids["post"], "client_id": key()})], open_because=PUBLIC
    ),
    "post.thread": Row(
        [
            allowed(lambda w: {"post_id": w.ids["post"]}),
            refused("not_found")(lambda w: {"post_id": w.ids["lena_post"]}),
            refused("not_found", "carol")(lambda w: {"post_id": w.ids["lena_post"]}),
        ],
        open_because=PUBLIC,
    ),
    "timeline.home": Row([allowed(lambda w: {"limit": 100})], open_because=OWN),
    "timeline.user": Row(
        [
            allowed(lambda w: {"username": "alice"}),
            allowed(lambda w: {"username": "lena"}, nothing_of_lenas),
            Attempt("carol", lambda w: {"username": "lena"}, None, nothing_of_lenas),
        ],
        open_because=PUBLIC,
    ),
    "follow.add": Row(
        [allowed(lambda w: {"username": "alice", "client_id": key()})],
        open_because=PUBLIC,
        valid=lambda w: {"username": "bob", "client_id": key()},  # alice cannot follow herself
    ),
    "follow.remove": Row(
        [allowed(lambda w: {"username": "alice", "client_id": key()})],
        open_because=PUBLIC,
        valid=lambda w: {"username": "bob", "client_id": key()},  # alice cannot follow herself
    ),
    "follow.requests": Row([allowed(empty, no_requests)], open_because=OWN),
    "follow.approve": Row(
        [
            refused("not_found")(answer_carols_request),
            refused("not_found", "bob")(answer_carols_request),
        ]
    ),
    "follow.decline": Row(
        [
            refused("not_found")(answer_carols_request),
            refused("not_found", "bob")(answer_carols_request),
        ]
    ),
    "follow.followers": Row([allowed(lambda w: {"username": "alice"})], open_because=PUBLIC),
    "follow.following": Row([allowed(lambda w: {"username": "alice"})], open_because=PUBLIC),
    "user.profile": Row([allowed(lambda w: {"username": "alice"})], open_because=PUBLIC),
    "search.query": Row(
        [
            allowed(lambda w: {"query": "alice secret"}),
            allowed(lambda w: {"query": "notes"}),
            allowed(lambda w: {"query": "followers only"}),  # lena's locked post
            Attempt("carol", lambda w: {"query": "followers only"}, None),
            # alice's direct and group messages, her group's name, her files' names
            allowed(lambda w: {"query": "alice dm secret 7f3a"}, nothing_of_alices),
            allowed(lambda w: {"query": "alice secret circle"}, nothing_of_alices),
            allowed(lambda w: {"query": "notes of alice"}, nothing_of_alices),
            allowed(lambda w: {"query": "plan"}, nothing_of_alices),
            # carol left the group: what came before, nothing after; nothing of `team`
            Attempt("carol", lambda w: {"query": "alice group"}, None, group_text_before_carol),
            Attempt("carol", lambda w: {"query": "plan"}, None, nothing_of_alices),
            Attempt("penny", lambda w: {"query": "plan"}, None, nothing_of_alices),  # invited
            Attempt("bob", lambda w: {"query": "plan"}, None, the_shared_plan),
        ],
        open_because="searches public posts and users, posts of people the caller follows,"
        " and the caller's own messages and files",
    ),
    "trending.tags": Row(
        [allowed(empty), Attempt("carol", empty, None)],  # lena's #hushhush42 is not counted
        open_because=PUBLIC,
    ),
    "suggest.follows": Row([allowed(empty)], open_because=PUBLIC),
    "notifications.list": Row([allowed(empty, no_notifications)], open_because=OWN),
    "notifications.read": Row(
        [allowed(lambda w: {"up_to": w.ids["notification"], "client_id": key()})],
        open_because="moves only the caller's own read marker",
    ),
    # blocks and mutes
    **hide_rows("block"),
    **hide_rows("mute"),
    # chat
    "chat.send": Row(
        [
            refused("not_found")(
                lambda w: {"to": w.ids["group"], "text": "hi", "client_id": key()}
            ),
            refused("not_found")(lambda w: {"to": w.ids["dm"], "text": "hi", "client_id": key()}),
            refused("not_found", "carol")(  # removed from the group
                lambda w: {"to": w.ids["group"], "text": "hi", "client_id": key()}
            ),
        ]
    ),
    "chat.group.create": Row(
        [allowed(lambda w: {"name": "mine", "members": ["bob"], "client_id": key()})],
        open_because="starts a new group of the caller's; anyone may write to anyone",
    ),
    "chat.group.add": Row(
        [
            refused("not_found")(
                lambda w: {
                    "conversation": w.ids["group"],
                    "username": "mallory",
                    "client_id": key(),
                }
            ),
            refused("not_found", "carol")(  # a removed member cannot add herself back
                lambda w: {"conversation": w.ids["group"], "username": "carol", "client_id": key()}
            ),
        ]
    ),
    "chat.group.remove": Row(
        [
            refused("not_found")(
                lambda w: {"conversation": w.ids["group"], "username": "bob", "client_id": key()}
            ),
            refused("forbidden", "bob")(  # a member, not the creator
                lambda w: {"conversation": w.ids["group"], "username": "alice", "client_id": key()}
            ),
        ]
    ),
    "chat.group.leave": Row(
        [refused("not_found")(lambda w: {"conversation": w.ids["group"], "client_id": key()})]
    ),
    "chat.list": Row([allowed(empty, none_of_alices_conversations)], open_because=OWN),
    "chat.history": Row(
        [
            refused("not_found")(lambda w: {"to": w.ids["group"]}),
            refused("not_found")(lambda w: {"to": w.ids["dm"]}),
            # a removed member keeps the history up to her removal (the leak check: nothing after)
            Attempt("carol", lambda w: {"to": w.ids["group"]}, None, history_until_removal),
        ]
    ),
    "chat.read": Row(
        [
            refused("not_found")(lambda w: {"to": w.ids["group"], "client_id": key()}),
            refused("not_found")(lambda w: {"to": w.ids["dm"], "seq": 1, "client_id": key()}),
        ]
    ),
    "chat.delivered": Row(
        [allowed(lambda w: {"cursors": [{"conversation": w.ids["group"], "seq": 2}]})],
        open_because="cursors of conversations the caller is not in are ignored",
    ),
    "chat.catch_up": Row(
        [
            allowed(
                lambda w: {"cursors": [{"conversation": w.ids["group"], "seq": 0}]},
                none_of_alices_conversations,
            )
        ],
        open_because=OWN,
    ),
    "chat.sync": Row(
        [
            allowed(
                lambda w: {"cursors": [{"conversation": w.ids["group"], "seq": 0}]},
                none_of_alices_conversations,
            )
        ],
        open_because=OWN,
    ),
    "chat.typing": Row([refused("not_found")(lambda w: {"conversation": w.ids["group"]})]),
    "presence.get": Row([allowed(empty, alice_not_a_contact)], open_because=OWN),
    # files
    "files.namespaces": Row(
        [allowed(empty, only_own_namespace), Attempt("penny", empty, None, only_a_home)],
        open_because=OWN,
    ),
    "files.changes": Row(
        [
            refused("not_found")(lambda w: {"namespace_id": w.ids["home"]}),
            refused("not_found")(lambda w: {"namespace_id": w.ids["share"]}),
            refused("not_found", "carol")(lambda w: {"namespace_id": w.ids["share"]}),
            refused("not_found", "penny")(lambda w: {"namespace_id": w.ids["share"]}),
        ]
    ),
    "files.missing": Row(
        [
            allowed(
                lambda w: {"namespace_id": None, "hashes": list(w.hashes.values())},
                nothing_readable,
            ),
            Attempt(
                "penny",
                lambda w: {"namespace_id": w.ids["share"], "hashes": list(w.hashes.values())},
                None,
                nothing_readable,
            ),
        ],
        open_because="answers about the caller's own access only",
    ),
    "files.stage": Row(
        [
            allowed(
                lambda w: {"upload_id": "stolen-blocks", "offset": 0, "hashes": [w.hashes["diary"]]}
            )
        ],
        open_because="stages the caller's own list; blocks are checked at commit",
    ),
    "files.announce": Row(
        [
            refused("not_found")(announce("home")),
            refused("not_found")(announce("share")),
            refused("forbidden", "bob")(announce("share")),
            refused("not_found", "carol")(announce("share")),
            refused("not_found", "penny")(announce("share")),
            allowed(announce("mallory_home")),
        ],
        valid=announce("home"),
    ),
    "files.withdraw": Row(
        [allowed(lambda w: {"upload_id": "stolen-blocks"})],
        open_because="withdraws only the caller's own announcements",
    ),
    "files.commit": Row(
        [
            refused("not_found")(commit("home", commit_item("stolen.txt", block="plan"))),
            refused("not_found")(commit("share", commit_item(PLAN_PATH, "plan_version"))),
            refused("forbidden", "bob")(commit("share", commit_item(PLAN_PATH, "plan_version"))),
            refused("not_found", "carol")(commit("share", commit_item(PLAN_PATH, "plan_version"))),
            refused("not_found", "penny")(commit("share", commit_item(PLAN_PATH, "plan_version"))),
            allowed(commit("mallory_home", commit_item("claimed.txt")), block_claim_refused),
        ]
    ),
    "files.history": Row(
        [
            refused("not_found")(lambda w: {"namespace_id": w.ids["home"], "path": DIARY_PATH}),
            refused("not_found")(lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}),
            refused("not_found", "penny")(
                lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}
            ),
        ]
    ),
    "files.restore": Row(
        [
            refused("not_found")(
                lambda w: {
                    "namespace_id": w.ids["home"],
                    "path": DIARY_PATH,
                    "version_id": w.ids["diary_version"],
                    "client_id": key(),
                }
            ),
            refused("forbidden", "bob")(
                lambda w: {
                    "namespace_id": w.ids["share"],
                    "path": PLAN_PATH,
                    "version_id": w.ids["plan_version"],
                    "client_id": key(),
                }
            ),
            refused("not_found", "penny")(
                lambda w: {
                    "namespace_id": w.ids["share"],
                    "path": PLAN_PATH,
                    "version_id": w.ids["plan_version"],
                    "client_id": key(),
                }
            ),
        ]
    ),
    "files.move": Row(
        [
            refused("not_found")(  # a stranger renaming alice's diary into view
                lambda w: {
                    "namespace_id": w.ids["home"],
                    "src": DIARY_PATH,
                    "dst": "public.txt",
                    "client_id": key(),
                }
            ),
            refused("forbidden", "bob")(  # a viewer of the share
                lambda w: {
                    "namespace_id": w.ids["share"],
                    "src": PLAN_PATH,
                    "dst": "moved.txt",
                    "client_id": key(),
                }
            ),
            refused("not_found", "carol")(  # removed from the share
                lambda w: {
                    "namespace_id": w.ids["share"],
                    "src": PLAN_PATH,
                    "dst": "moved.txt",
                    "client_id": key(),
                }
            ),
            refused("not_found", "penny")(  # invited, not a member yet
                lambda w: {
                    "namespace_id": w.ids["share"],
                    "src": PLAN_PATH,
                    "dst": "moved.txt",
                    "client_id": key(),
                }
            ),
        ],
        valid=lambda w: {  # mallory's own home: nothing there to move (a reason of state)
            "namespace_id": w.ids["mallory_home"],
            "src": "notes.txt",
            "dst": "old/notes.txt",
            "client_id": key(),
        },
    ),
    "files.usage": Row([allowed(empty)], open_because=OWN),
    "files.purge": Row(
        [
            refused("not_found")(lambda w: {"namespace_id": w.ids["home"], "path": DIARY_PATH}),
            refused("forbidden", "bob")(  # only the owner forgets a share's history
                lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}
            ),
            refused("not_found", "carol")(
                lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}
            ),
            refused("not_found", "penny")(
                lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}
            ),
        ],
        fuzz=False,  # alice's own purge would forget the versions other rows restore
    ),
    "link.create": Row(
        [
            refused("not_found")(lambda w: {"namespace_id": w.ids["home"], "path": DIARY_PATH}),
            refused("not_found")(lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}),
            refused("forbidden", "bob")(  # a viewer may not hand the share's files out
                lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}
            ),
            refused("not_found", "carol")(
                lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}
            ),
            refused("not_found", "penny")(
                lambda w: {"namespace_id": w.ids["share"], "path": PLAN_PATH}
            ),
        ]
    ),
    "link.list": Row([allowed(empty, no_links_of_alice)], open_because=OWN),
    "link.remove": Row(
        [
            refused("not_found")(lambda w: {"link": w.ids["link"]}),
            refused("not_found")(lambda w: {"link": w.ids["link_token"]}),
            refused("not_found", "bob")(lambda w: {"link": w.ids["link"]}),
            refused("not_found", "carol")(lambda w: {"link": w.ids["link"]}),
        ],
        fuzz=False,  # alice's own remove would take down the link other rows aim at
    ),
    "files.share": Row(
        [
            refused("forbidden", "bob")(  # a viewer cannot re-share alice's folder
                lambda w: {"folder": "team", "username": "mallory", "role": "editor"}
            ),
            refused("invalid_args", "mallory")(  # a name the client keeps for itself
                lambda w: {"folder": ".roostignore", "username": "alice", "role": "editor"}
            ),
        ],
        valid=lambda w: {"folder": "team", "username": "mallory", "role": "viewer"},
    ),
    "files.unshare": Row(
        [
            refused("not_found")(lambda w: {"folder": "team", "username": "bob"}),
            refused("forbidden", "bob")(lambda w: {"folder": "team", "username": "alice"}),
        ],
        valid=lambda w: {"folder": "team", "username": "bob"},
    ),
    "files.shares": Row(
        [allowed(empty, no_shares), Attempt("penny", empty, None, an_invitation_only)],
        open_because=OWN,
    ),
    "files.share.accept": Row(
        [
            # penny's invitation is hers to answer: anyone else finds nothing
            refused("not_found")(invitation_answer),
            refused("not_found", "bob")(invitation_answer),
            refused("not_found", "carol")(invitation_answer),
        ]
    ),
    "files.share.decline": Row(
        [
            refused("not_found")(invitation_answer),
            refused("not_found", "bob")(invitation_answer),
        ]
    ),
    "files.share.leave": Row(
        [
            refused("not_found")(lambda w: {"folder": "team", "client_id": key()}),
            refused("not_found", "carol")(lambda w: {"folder": "team", "client_id": key()}),
            refused("not_found", "penny")(lambda w: {"folder": "team", "client_id": key()}),
        ],
        # alice owns `team`: her own leave is refused (forbidden), so the fuzzer changes nothing
        valid=lambda w: {"folder": "team", "client_id": key()},
    ),
    "files.attach": Row(
        [
            refused("not_found")(
                lambda w: {
                    "name": "mine.bin",
                    "size": w.sizes["attachment"],
                    "blocks": [w.hashes["attachment"]],
                }
            )
        ]
    ),
    # export
    "export.posts": Row([allowed(empty, only_own_posts)], open_because=OWN),
    "export.versions": Row(
        [
            refused("not_found")(lambda w: {"namespace_id": w.ids["home"]}),
            refused("not_found")(lambda w: {"namespace_id": w.ids["share"]}),
            refused("not_found", "carol")(lambda w: {"namespace_id": w.ids["share"]}),
            refused("not_found", "penny")(lambda w: {"namespace_id": w.ids["share"]}),
            Attempt("bob", lambda w: {"namespace_id": w.ids["share"]}, None, the_share_only),
        ]
    ),
    "media.get": Row(
        [
            refused("not_found")(lambda w: {"attachment_id": w.ids["attachment"]}),
            refused("not_found")(lambda w: {"attachment_id": w.ids["lena_attachment"]}),
            refused("not_found", "carol")(lambda w: {"attachment_id": w.ids["lena_attachment"]}),
        ]
    ),
    "media.post": Row(
        [
            allowed(lambda w: {"post_id": w.ids["post"]}),
            refused("not_found")(lambda w: {"post_id": w.ids["lena_post"]}),
            refused("not_found", "carol")(lambda w: {"post_id": w.ids["lena_post"]}),
        ],
        open_because="a live post's attachments are as public as the post",
    ),
}
