"""Shares are invitations the member accepts: until then nothing of the share reaches them and
nothing of theirs reaches it; a share never takes over a folder a member already has on their
disk; a member can leave. Through the real server with real clients, each in its own home."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from client.errors import ClientError, ServerError
from client.files import RemoteFiles, find_invitation
from protocol import files as wire
from protocol.errors import ErrorCode
from server.files.sharing import MAX_PENDING_FROM_ONE_OWNER
from tests.conftest import LiveServer
from tests.files.helpers import Device, device, share_with
from tests.server.chat_fixtures import next_event

SECRET = "bob's private notes, never for alice"


async def share_names(d: Device) -> list[str]:
    """What the server holds in each of the shares this device's user is a member of."""
    files = RemoteFiles(d.client)
    out = []
    for ns in await files.namespaces():
        if ns.kind == "shared":
            out += [f"{ns.name}/{e.path}" for e in await files.entries(ns) if not e.deleted]
    return sorted(out)


async def alices_share(alice: Device) -> list[str]:
    return [p.partition("/")[2] for p in await share_names(alice)]


async def test_a_private_folder_of_the_same_name_is_never_taken_over_before_accepting(
    alice_and_bob: tuple[Device, Device],
) -> None:
    """The squatting attack, as bob syncs while the invitation waits and after accepting it:
    nothing of bob's folder `team` reaches alice's share."""
    alice, bob = alice_and_bob
    alice.write("team/agenda.txt", "alice's agenda")
    await alice.sync()
    await bob.sync()  # an empty workspace, synced before
    bob.write("team/notes.txt", SECRET)  # made since: the server has never seen it
    await RemoteFiles(alice.client).share("team", "bob", "editor")

    report = await bob.sync()  # invited, not a member: nothing is mounted
    assert report.mounted_aside == [] and "team/notes.txt" in report.uploaded
    assert await alices_share(alice) == ["agenda.txt"]
    assert bob.read("team/notes.txt") == SECRET.encode()

    info = await RemoteFiles(bob.client).accept("team")
    assert info.folder == "team (from alice)"  # the server now knows bob's own `team`
    report = await bob.sync()
    assert bob.read("team (from alice)/agenda.txt") == b"alice's agenda"
    assert bob.read("team/notes.txt") == SECRET.encode()
    assert not (bob.root / "team/agenda.txt").exists()
    await alice.sync()
    assert await alices_share(alice) == ["agenda.txt"]
    assert alice.listing() == ["team", "team/agenda.txt"]


async def test_a_folder_the_server_never_saw_is_not_taken_over_after_accepting(
    alice_and_bob: tuple[Device, Device],
) -> None:
    """Bob accepts before his device syncs its new folder `team`: the server names the mount
    `team`, and the device mounts it beside his folder instead, and says so."""
    alice, bob = alice_and_bob
    alice.write("team/agenda.txt", "alice's agenda")
    await alice.sync()
    bob.write("team/notes.txt", SECRET)
    bob.write("team/deep/more.txt", SECRET)
    info = await share_with(alice, "team", bob, "editor")
    assert info.folder == "team"

    report = await bob.sync()
    assert [(a.name, a.owner, a.folder) for a in report.mounted_aside] == [
        ("team", "alice", "team (from alice)")
    ]
    assert sorted(report.uploaded) == ["team", "team/deep", "team/deep/more.txt", "team/notes.txt"]
    assert bob.read("team/notes.txt") == SECRET.encode()  # bob's folder, untouched
    assert bob.read("team (from alice)/agenda.txt") == b"alice's agenda"
    assert await alices_share(alice) == ["agenda.txt"]
    mine = RemoteFiles(bob.client)
    home = next(ns for ns in await mine.namespaces() if ns.kind == "home")
    assert "team/notes.txt" in [e.path for e in await mine.entries(home)]  # into his own home

    bob.write("team (from alice)/reply.txt", "for alice")  # the mount syncs as the share
    again = await bob.sync()
    assert again.mounted_aside == [] and again.uploaded == ["team (from alice)/reply.txt"]
    await alice.sync()
    assert alice.read("team/reply.txt") == b"for alice"
    assert not (alice.root / "team/notes.txt").exists()
    assert not (alice.root / "team/deep").exists()


async def test_an_ignored_folder_is_not_taken_over(alice_and_bob: tuple[Device, Device]) -> None:
    alice, bob = alice_and_bob
    alice.write("team/agenda.txt", "alice's agenda")
    await alice.sync()
    bob.write(".roostignore", "team/\n")
    bob.write("team/notes.txt", SECRET)
    await bob.sync()
    await share_with(alice, "team", bob, "editor")

    report = await bob.sync()
    assert [a.folder for a in report.mounted_aside] == ["team (from alice)"]
    assert bob.read("team (from alice)/agenda.txt") == b"alice's agenda"
    assert bob.read("team/notes.txt") == SECRET.encode()
    assert await alices_share(alice) == ["agenda.txt"]


async def test_the_owner_keeps_their_own_folder_as_the_share(
    alice_and_bob: tuple[Device, Device],
) -> None:
    """Only someone else's share is kept off a folder: the owner's folder is the share."""
    alice, bob = alice_and_bob
    alice.write("team/agenda.txt", "alice's agenda")
    alice.write("club/rules.txt", "no rules")
    await alice.sync()
    await share_with(alice, "team", bob, "editor")
    await RemoteFiles(alice.client).share("club", "bob", "viewer")  # not answered yet
    report = await alice.sync()
    assert report.mounted_aside == [] and not report.acted
    assert alice.listing() == ["club", "club/rules.txt", "team", "team/agenda.txt"]


async def test_a_pending_invitee_reads_writes_and_fetches_nothing(
    live: LiveServer, alice_and_bob: tuple[Device, Device]
) -> None:
    alice, bob = alice_and_bob
    alice.write("team/agenda.txt", "alice's agenda")
    await alice.sync()
    info = await RemoteFiles(alice.client).share("team", "bob", "editor")
    ns_id = info.namespace_id
    [entry] = [e for e in await RemoteFiles(alice.client).entries(
        next(ns for ns in await RemoteFiles(alice.client).namespaces() if ns.id == ns_id)
    ) if e.path == "agenda.txt"]  # fmt: skip

    files = RemoteFiles(bob.client)
    assert [ns.kind for ns in await files.namespaces()] == ["home"]
    assert (await files.share_list()).shares == []
    [waiting] = await files.invitations()
    assert (waiting.folder, waiting.owner, waiting.role) == ("team", "alice", "editor")
    refusals = [
        ("files.changes", wire.GetChanges(ns_id)),
        ("files.history", wire.History(ns_id, "agenda.txt")),
        ("files.commit", wire.Commit(ns_id, [wire.CommitItem("x.txt", None)])),
        ("files.restore", wire.Restore(ns_id, "agenda.txt", entry.version_id)),
        ("files.purge", wire.Purge(ns_id, "agenda.txt")),
    ]
    for op, args in refusals:
        with pytest.raises(ServerError) as refused:
            await bob.client.call(op, args)
        assert refused.value.code == ErrorCode.NOT_FOUND, op
    with pytest.raises(ServerError) as refused:
        await (await files.transfer()).fetch_block(entry.blocks[0])
    assert refused.value.code == ErrorCode.NOT_FOUND
    missing: wire.Missing = await bob.client.call(
        "files.missing", wire.FindMissing(ns_id, list(entry.blocks))
    )
    assert missing.hashes == list(entry.blocks)  # not readable: counted as missing
    with pytest.raises(ServerError, match="you are in no shared folder 'team'"):
        await files.leave("team")
    report = await bob.sync()
    assert bob.listing() == [] and not report.acted


async def test_accept_decline_and_a_second_invitation_after_declining(
    live: LiveServer, alice_and_bob: tuple[Device, Device]
) -> None:
    alice, bob = alice_and_bob
    watcher = await live.connect(bob.client.home.token())
    try:
        owner = RemoteFiles(alice.client)
        info = await owner.share("team", "bob", "viewer")
        event = msgspec.json.decode(
            (await next_event(watcher, "files.invitation")).data, type=wire.InvitationChanged
        )
        assert (event.folder, event.owner, event.role, event.status) == (
            "team", "alice", "viewer", "pending"
        )  # fmt: skip
        again = await owner.share("team", "bob", "editor")  # one invitation, a new role
        assert [(m.username, m.role, m.pending) for m in again.members] == [
            ("alice", "owner", False),
            ("bob", "editor", True),
        ]
        files = RemoteFiles(bob.client)
        [waiting] = await files.invitations()
        assert waiting.role == "editor" and waiting.id == event.invitation_id

        declined = await files.decline("team")
        assert declined.id == waiting.id
        assert await files.invitations() == []
        [mine] = await owner.shares()
        assert [m.username for m in mine.members] == ["alice"]
        with pytest.raises(ServerError) as gone:  # answered: nothing left to accept
            await bob.client.write("files.share.accept", wire.AnswerInvitation(waiting.id))
        assert gone.value.code == ErrorCode.NOT_FOUND

        await owner.share("team", "bob", "editor")  # asking again is allowed
        [second] = await files.invitations()
        assert second.id != waiting.id
        joined = await files.accept(second.id)
        assert (joined.folder, joined.owner, joined.role) == ("team", "alice", "editor")
        assert await files.invitations() == []
        [mine] = await owner.shares()
        assert [(m.username, m.pending) for m in mine.members] == [
            ("alice", False),
            ("bob", False),
        ]
        assert info.namespace_id == joined.namespace_id
    finally:
        await watcher.close()


async def test_only_the_invitee_answers_an_invitation(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    bob = await device(live, tmp_path, "bob", "b1", register=True)
    mallory = await device(live, tmp_path, "mallory", "m1", register=True)
    try:
        await RemoteFiles(alice.client).share("team", "bob", "editor")
        [waiting] = await RemoteFiles(bob.client).invitations()
        for op in ("files.share.accept", "files.share.decline"):
            for who in (mallory, alice):  # a stranger, and the owner herself
                with pytest.raises(ServerError) as refused:
                    await who.client.write(op, wire.AnswerInvitation(waiting.id))
                assert refused.value.code == ErrorCode.NOT_FOUND, (op, who.username)
        assert [i.id for i in await RemoteFiles(bob.client).invitations()] == [waiting.id]
        assert [ns.kind for ns in await RemoteFiles(mallory.client).namespaces()] == ["home"]
        with pytest.raises(ClientError, match="no invitation 'team' waiting"):
            await RemoteFiles(mallory.client).accept("team")
    finally:
        for d in (alice, bob, mallory):
            await d.client.close()


async def test_invitations_from_one_owner_are_capped(alice_and_bob: tuple[Device, Device]) -> None:
    alice, bob = alice_and_bob
    owner = RemoteFiles(alice.client)
    for n in range(MAX_PENDING_FROM_ONE_OWNER):
        await owner.share(f"folder{n}", "bob", "viewer")
    await owner.share("folder0", "bob", "editor")  # the same invitation again: not a new one
    with pytest.raises(ServerError, match="invitations of yours waiting") as refused:
        await owner.share("one-too-many", "bob", "viewer")
    assert refused.value.code == ErrorCode.CONFLICT
    await RemoteFiles(bob.client).decline("folder3")
    await owner.share("one-too-many", "bob", "viewer")  # room again
    assert len(await RemoteFiles(bob.client).invitations()) == MAX_PENDING_FROM_ONE_OWNER


async def test_the_owner_takes_an_invitation_back(alice_and_bob: tuple[Device, Device]) -> None:
    alice, bob = alice_and_bob
    owner = RemoteFiles(alice.client)
    await owner.share("team", "bob", "editor")
    info = await owner.unshare("team", "bob")
    assert [m.username for m in info.members] == ["alice"]
    assert await RemoteFiles(bob.client).invitations() == []
    with pytest.raises(ServerError, match="not a member"):
        await owner.unshare("team", "bob")


async def test_a_member_leaves_and_keeps_a_copy_on_the_device(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write("team/plan.txt", "the plan")
    await alice.sync()
    await share_with(alice, "team", bob, "editor")
    await bob.sync()
    bob.write("team/draft.txt", "bob's draft")
    await bob.sync()

    with pytest.raises(ServerError, match="is yours; remove its members instead") as refused:
        await RemoteFiles(alice.client).leave("team")
    assert refused.value.code == ErrorCode.FORBIDDEN
    left = await RemoteFiles(bob.client).leave("TEAM")
    assert left.folder == "team"
    assert await RemoteFiles(bob.client).shares() == []
    report = await bob.sync()
    assert report.detached == ["team (unshared)"]
    assert bob.read("team (unshared)/draft.txt") == b"bob's draft"
    bob.write("team (unshared)/later.txt", "after leaving")
    await bob.sync()
    assert [r.shown for r in await RemoteFiles(bob.client).ls(recursive=True)] == []
    [mine] = await RemoteFiles(alice.client).shares()
    assert [m.username for m in mine.members] == ["alice"]
    await alice.sync()
    assert alice.read("team/draft.txt") == b"bob's draft"  # the share keeps what bob gave it
    assert not (alice.root / "team/later.txt").exists()


def test_an_invitation_is_named_by_id_or_folder() -> None:
    team = wire.Invitation("11", "Team", "alice", "editor", 1)
    other = wire.Invitation("12", "team", "carol", "viewer", 2)
    photos = wire.Invitation("13", "photos", "carol", "viewer", 3)
    assert find_invitation([team, photos], "team") is team  # case-insensitively
    assert find_invitation([team, other], "12") is other
    with pytest.raises(ClientError, match=r"2 invitations to 'team'; name one by its id: 11"):
        find_invitation([team, other], "team/")
    with pytest.raises(ClientError, match=r"waiting: 'photos' from carol"):
        find_invitation([photos], "garden")
