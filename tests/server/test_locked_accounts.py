"""Locked accounts through the real server and client: a follow becomes a request the locked
person approves or declines, and their posts (old ones too) reach only approved followers, in
timelines, threads, search, trending, notifications and attachments alike."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from client.errors import ServerError
from client.files import RemoteFiles
from client.social import Social
from client.sync.transfer import Transfer
from protocol import files as files_wire
from protocol import profiles as profiles_wire
from protocol import social as wire
from tests.conftest import LiveServer
from tests.files.helpers import Device, device


@dataclass
class Lena:
    """The locked account's things, made before and after she locked."""

    old: wire.Post  # public when written, followers-only once she locked
    new: wire.Post
    reply: wire.Post  # her reply in sam's thread
    question: wire.Post  # sam's post she replied to
    attachment: files_wire.Attachment  # carried only by `new`


async def _code(call: Any) -> str:
    with pytest.raises(ServerError) as refused:
        await call
    return refused.value.code


async def _lock(who: Device, locked: bool) -> profiles_wire.Profile:
    profile: profiles_wire.Profile = await who.client.call(
        "profile.set", profiles_wire.SetProfile(locked=locked)
    )
    return profile


async def _seen(reader: Device, lena: Lena) -> dict[str, Any]:
    """Everything of lena's the reader gets, by every way there is to read a post."""
    social, call = Social(reader.client), reader.client.call
    theirs = {lena.old.id, lena.new.id, lena.reply.id}

    async def thread(post_id: str) -> list[str] | str:
        try:
            t = (await social.thread(post_id)).result
        except ServerError as exc:
            return exc.code
        return [p.id for p in (*t.ancestors, t.post, *t.replies) if p.id in theirs]

    async def attachment() -> str:
        try:
            got = await call("media.get", files_wire.GetAttachment(lena.attachment.id))
        except ServerError as exc:
            return exc.code
        return str(got.name)

    async def post_media() -> str:
        try:
            got = await call("media.post", files_wire.GetPostMedia(lena.new.id))
        except ServerError as exc:
            return exc.code
        return ",".join(a.name for a in got.attachments)

    async def block() -> str:  # the attachment's bytes, asked for by hash
        transfer = Transfer(await reader.client.connect())
        try:
            await transfer.fetch_block(lena.attachment.blocks[0])
        except ServerError as exc:
            return exc.code
        return "fetched"

    home = (await social.home(limit=100)).result.posts
    found = (await social.search("quiet")).result.posts
    tags = (await social.trending()).result.tags
    return {
        "home": sorted(p.id for p in home if p.id in theirs),
        "user timeline": sorted(p.id for p in (await social.user_timeline("lena")).result.posts),
        "thread": await thread(lena.new.id),
        "old thread": await thread(lena.old.id),
        "sam's thread": await thread(lena.question.id),
        "search": sorted(p.id for p in found if p.id in theirs),
        "trending": [t.tag for t in tags if t.tag == "quiet"],
        "attachment": await attachment(),
        "post media": await post_media(),
        "block": await block(),
    }


def _nothing(lena: Lena) -> dict[str, Any]:
    return {
        "home": [],
        "user timeline": [],
        "thread": "not_found",
        "old thread": "not_found",
        "sam's thread": [],  # sam's post is there, lena's reply is not
        "search": [],
        "trending": [],
        "attachment": "not_found",
        "post media": "not_found",
        "block": "not_found",
    }


def _everything(lena: Lena) -> dict[str, Any]:
    ids = sorted([lena.old.id, lena.new.id, lena.reply.id])
    return {
        "home": ids,
        "user timeline": ids,
        "thread": [lena.new.id],
        "old thread": [lena.old.id],
        "sam's thread": [lena.reply.id],
        "search": sorted([lena.old.id, lena.new.id]),
        "trending": ["quiet"],
        "attachment": "photo.bin",
        "post media": "photo.bin",
        "block": "fetched",
    }


async def _lenas_world(live: LiveServer, tmp_path: Path) -> tuple[dict[str, Device], Lena]:
    people = {
        name: await device(live, tmp_path, name, "d1", register=True)
        for name in ("lena", "pat", "sam", "cid")
    }
    lena, sam = Social(people["lena"].client), Social(people["sam"].client)
    old = (await lena.post("written in the open #quiet")).result
    assert (await _lock(people["lena"], True)).locked
    photo = tmp_path / "photo.bin"
    photo.write_bytes(os.urandom(70_000))
    attached = await RemoteFiles(people["lena"].client).attach(photo)
    new = (await lena.post("only for friends #quiet", attachments=[attached.id])).result
    question = (await sam.post("anyone around?")).result
    assert old and new and question
    reply = (await lena.post("lena answers @sam", reply_to=question.id)).result
    assert reply is not None
    return people, Lena(old, new, reply, question, attached)


async def test_a_pending_follower_sees_nothing_until_approved(
    live: LiveServer, tmp_path: Path
) -> None:
    people, lena = await _lenas_world(live, tmp_path)
    try:
        pat, sam, cid = people["pat"], people["sam"], people["cid"]
        asked = (await Social(pat.client).follow("lena")).result
        assert asked is not None
        assert (asked.locked, asked.requested, asked.you_follow) == (True, True, False)
        assert await _seen(pat, lena) == _nothing(lena)
        assert await _seen(sam, lena) == _nothing(lena)

        owner = Social(people["lena"].client)
        waiting = (await owner.requests()).result.requests
        assert [r.username for r in waiting] == ["pat"]
        kinds = [(n.kind, n.actor) for n in (await owner.notifications()).result.notifications]
        assert ("follow_request", "pat") in kinds
        # sam was replied to and mentioned by a post he may not see: he is not told
        assert (await Social(sam.client).notifications()).result.notifications == []
        assert (await owner.profile()).result.followers == 0

        approved = (await owner.approve("pat")).result
        assert approved is not None and approved.follows_you
        assert await _seen(pat, lena) == _everything(lena)
        assert await _seen(sam, lena) == _nothing(lena)  # after pat warmed every cache
        told = (await Social(pat.client).notifications()).result.notifications
        assert [(n.kind, n.actor) for n in told] == [("follow_accepted", "lena")]
        kinds = [(n.kind, n.actor) for n in (await owner.notifications()).result.notifications]
        assert ("follow", "pat") in kinds and ("follow_request", "pat") not in kinds
        assert (await owner.requests()).result.requests == []

        # a follower still may not carry her posts past her followers
        repost = pat.client.call("post.repost", wire.PostRef(post_id=lena.new.id))
        assert await _code(repost) == "forbidden"
        # a stranger cannot act on what he cannot see: it is not there for him
        for op in ("post.like", "post.repost", "post.delete"):
            assert await _code(sam.client.call(op, wire.PostRef(post_id=lena.new.id))) == (
                "not_found"
            ), op
        answer = sam.client.call("post.create", wire.CreatePost(text="hi", reply_to=lena.old.id))
        assert await _code(answer) == "not_found"

        # declined: cid stays out, and his view of her shows no request
        await Social(cid.client).follow("lena")
        declined = (await owner.decline("cid")).result
        assert declined is not None and not declined.follows_you
        again = (await Social(cid.client).profile("lena")).result
        assert (again.requested, again.you_follow) == (False, False)
        assert await _seen(cid, lena) == _nothing(lena)
        assert await _code(owner.approve("cid")) == "not_found"  # nothing left to approve
    finally:
        for person in people.values():
            await person.client.close()


async def test_a_request_can_be_taken_back_and_unlocking_approves_the_rest(
    live: LiveServer, tmp_path: Path
) -> None:
    people, lena = await _lenas_world(live, tmp_path)
    try:
        pat, sam, cid = people["pat"], people["sam"], people["cid"]
        owner = Social(people["lena"].client)
        await Social(cid.client).follow("lena")
        withdrawn = (await Social(cid.client).unfollow("lena")).result
        assert withdrawn is not None and not withdrawn.requested
        assert (await owner.requests()).result.requests == []
        notes = (await owner.notifications()).result.notifications
        assert [n.kind for n in notes] == []  # the request's notification went with it

        await Social(pat.client).follow("lena")
        await Social(pat.client).follow("lena")  # asking twice is one request
        assert [r.username for r in (await owner.requests()).result.requests] == ["pat"]
        opened = await _lock(people["lena"], False)
        assert not opened.locked
        assert (await owner.requests()).result.requests == []
        profile = (await Social(pat.client).profile("lena")).result
        assert (profile.locked, profile.you_follow, profile.requested) == (False, True, False)
        assert await _seen(pat, lena) == _everything(lena)
        seen_by_sam = await _seen(sam, lena)
        assert seen_by_sam == {**_everything(lena), "home": []}  # public, he follows nobody

        # locking again: pat stays a follower, sam loses sight at once
        await _lock(people["lena"], True)
        assert await _seen(pat, lena) == _everything(lena)
        assert await _seen(sam, lena) == _nothing(lena)
        # an unfollow ends it
        await Social(pat.client).unfollow("lena")
        assert await _seen(pat, lena) == _nothing(lena)
    finally:
        for person in people.values():
            await person.client.close()


async def test_nobody_answers_a_request_made_to_someone_else(
    live: LiveServer, tmp_path: Path
) -> None:
    people = {
        name: await device(live, tmp_path, name, "d1", register=True)
        for name in ("lena", "pat", "sam")
    }
    try:
        await _lock(people["lena"], True)
        await Social(people["pat"].client).follow("lena")
        sam = Social(people["sam"].client)
        assert await _code(sam.approve("pat")) == "not_found"
        assert await _code(sam.decline("pat")) == "not_found"
        assert await _code(sam.approve("nobody")) == "not_found"
        assert (await sam.requests()).result.requests == []
        waiting = (await Social(people["lena"].client).requests()).result.requests
        assert [r.username for r in waiting] == ["pat"]  # still waiting for lena
    finally:
        for person in people.values():
            await person.client.close()


async def test_a_block_drops_a_follow_request_waiting_either_way(
    live: LiveServer, tmp_path: Path
) -> None:
    people = {
        name: await device(live, tmp_path, name, "d1", register=True)
        for name in ("lena", "pat", "kim")
    }
    try:
        lena, pat, kim = (Social(people[n].client) for n in ("lena", "pat", "kim"))
        await _lock(people["lena"], True)
        await _lock(people["kim"], True)
        await pat.follow("lena")  # lena blocks the one asking her
        await lena.follow("kim")  # lena blocks the one she asked
        assert [r.username for r in (await lena.requests()).result.requests] == ["pat"]
        await lena.block("pat")
        await lena.block("kim")
        assert (await lena.requests()).result.requests == []
        assert (await kim.requests()).result.requests == []
        assert [n.kind for n in (await lena.notifications()).result.notifications] == []
        assert not (await pat.profile("lena")).result.requested
        await lena.unblock("pat")  # unblocking brings no request back: pat may ask again
        assert (await lena.requests()).result.requests == []
        await pat.follow("lena")
        assert [r.username for r in (await lena.requests()).result.requests] == ["pat"]
    finally:
        for person in people.values():
            await person.client.close()
