"""chat: send, groups and their members, the conversation list, history, read receipts,
presence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
import typer

from cli import output, typed_ids
from cli.compose import composed
from cli.options import AsJson
from cli.session import with_client
from client.chat import ChatClient, describe
from client.core import Read, RoostClient, Written
from client.display import clean
from client.errors import ClientError, Unreachable
from protocol import chat as wire
from protocol.errors import RoostError

app = typer.Typer(help="Direct and group conversations.", no_args_is_help=True)

TargetArg = Annotated[
    str,
    typer.Argument(
        help="A person (@bob or bob), a group by its name, or a conversation id (its last 6+"
        " digits, or #N from roost chat list).",
        metavar="TARGET",
    ),
]
GroupArg = Annotated[
    str,
    typer.Argument(
        help="The group: its name, its id, the id's last 6+ digits, or #N from roost chat list.",
        metavar="GROUP",
    ),
]


async def _target(client: RoostClient, typed: str, *, group: bool = False) -> str:
    """The wire target for what was typed, against the conversations this device last saw;
    `group`: only a group will do."""
    from client.chat_targets import chat_target

    chat = client.chat
    known = await chat.cached_conversations() or []
    name = typed.strip().casefold()
    bare = not typed.strip().startswith(("@", "#")) and not typed.strip().isdigit()
    if bare and not any(c.name.casefold() == name for c in known):
        try:  # a group made elsewhere since the last list: fetch the list once
            known = (await chat.conversations()).result
        except Unreachable:
            pass
    target = chat_target(typed, known, typed_ids.listed("conversation"))
    by_name = target.startswith("@") and not typed.strip().startswith("@")
    if by_name and group:
        raise ClientError(f"no group called {typed.strip()!r}: roost chat list shows yours")
    try:
        wire.parse_target(target)
    except RoostError as exc:
        if by_name:
            raise ClientError(
                f"no group called {typed.strip()!r}, nor a user: roost chat list shows yours"
            ) from None
        raise ClientError(exc.message) from None
    return target


@app.command("send")
def send(
    target: TargetArg,
    text: Annotated[
        str | None,
        typer.Argument(
            help="The message; - reads it from stdin; left out, $EDITOR opens for it.",
            metavar="[TEXT]",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Send a message (queued if the server is unreachable)."""
    message_text = composed(text, nothing="nothing sent: the message is empty")

    async def body(client: RoostClient) -> Written[wire.Message]:
        return await client.chat.send(await _target(client, target), message_text)

    written = with_client(body)
    if written.queued:
        output.queued("chat.send", written.client_id, as_json, why=written.why_queued)
        return
    message = written.result
    assert message is not None
    if as_json:
        output.print_json(message)
    else:
        output.note(f"sent #{message.seq} in conversation {message.conversation}")


@app.command("group")
def group(
    name: Annotated[str, typer.Argument(help="The group's name.")],
    users: Annotated[list[str], typer.Argument(help="Its other members.", metavar="USER...")],
    as_json: AsJson = False,
) -> None:
    """Start a group with these members; prints its id."""

    async def body(client: RoostClient) -> Written[wire.Conversation]:
        return await client.chat.create_group(name, [u.lstrip("@") for u in users])

    _print_conversation(with_client(body), "chat.group.create", as_json, id_only=True)


@app.command("add")
def add(group: GroupArg, user: str, as_json: AsJson = False) -> None:
    """Add someone to a group."""
    written = with_client(
        lambda c: _on_group(c, group, lambda chat, g: chat.add(g, user.lstrip("@")))
    )
    _print_conversation(written, "chat.group.add", as_json)


@app.command("remove")
def remove(group: GroupArg, user: str, as_json: AsJson = False) -> None:
    """Remove someone from a group you created."""
    written = with_client(
        lambda c: _on_group(c, group, lambda chat, g: chat.remove(g, user.lstrip("@")))
    )
    _print_conversation(written, "chat.group.remove", as_json)


@app.command("leave")
def leave(group: GroupArg, as_json: AsJson = False) -> None:
    """Leave a group (you keep its history up to now)."""
    written = with_client(lambda c: _on_group(c, group, lambda chat, g: chat.leave(g)))
    _print_conversation(written, "chat.group.leave", as_json)


@app.command("list")
def list_(as_json: AsJson = False) -> None:
    """Your conversations, most recent first, with unread counts."""
    answer: Read[list[wire.Conversation]] = with_client(lambda c: c.chat.conversations())
    if answer.offline:
        output.offline(answer.cached_at)
    typed_ids.remember("conversation", [c.id for c in answer.result])
    if as_json:
        output.print_json({"conversations": answer.result})
        return
    if not answer.result:
        output.note("no conversations yet: roost chat send @user TEXT")
        return
    rows = []
    for c in answer.result:
        name = f"@{c.name}" if c.kind == "direct" else c.name
        if not c.member:
            name += " (left)"
        rows.append([c.id, name, ", ".join(c.members), str(c.unread or ""), str(c.last_seq)])
    output.table(["#", "id", "name", "members", "unread", "last seq"], output.numbered(rows))


@app.command("history")
def history(
    target: TargetArg,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many messages.")] = 20,
    before: Annotated[
        int | None, typer.Option(min=1, help="Only messages before this seq.", metavar="SEQ")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """A conversation's messages, oldest first (cached ones when offline)."""

    async def body(client: RoostClient) -> tuple[Read[wire.MessagePage], list[str]]:
        to = await _target(client, target)
        page = await client.chat.history(to, limit=limit, before=before)
        queued = [] if not page.offline else await _queued_texts(client, to)
        return page, queued

    answer, queued = with_client(body)
    if answer.offline:
        output.note("offline: showing the messages cached on this device")
    page = answer.result
    if as_json:
        output.print_json(
            {"conversation": page.conversation, "messages": page.messages, "more": page.more}
        )
        return
    if page.more:
        first = page.messages[0].seq
        output.note(f"older messages: roost chat history {target} --before {first}")
    for m in page.messages:
        when = m.sent_at.astimezone().strftime("%Y-%m-%d %H:%M")
        line = f"#{m.seq}  {when}  {output.line(m.sender)}: {clean(describe(m), multiline=True)}"
        output.stdout.print(line, markup=False, style=None if m.kind == "text" else "dim")
    for text in queued:
        output.stdout.print(f"(queued)  {clean(text, multiline=True)}", markup=False)
    if not page.messages and not queued:
        output.note(f"no messages with {target} yet")


@app.command("read")
def read(
    target: TargetArg,
    seq: Annotated[int | None, typer.Option(min=0, help="Up to this seq (default: all).")] = None,
) -> None:
    """Mark a conversation read (queued if the server is unreachable)."""

    async def body(client: RoostClient) -> Written[wire.Receipt]:
        return await client.chat.read(await _target(client, target), seq)

    written = with_client(body)
    if written.queued:
        output.queued("chat.read", written.client_id, False, why=written.why_queued)
    else:
        assert written.result is not None
        output.note(f"read up to #{written.result.read_seq}")


@app.command("presence")
def presence(as_json: AsJson = False) -> None:
    """Who of the people you talk with is online."""
    users: list[wire.Presence] = with_client(lambda c: c.chat.presence())
    if as_json:
        output.print_json({"users": users})
        return
    for p in users:
        state = "online " if p.online else "offline"
        output.stdout.print(f"{state}  {output.line(p.user)}", markup=False)
    if not users:
        output.note("nobody to show: presence is shared between people in a conversation")


def _print_conversation(
    written: Written[wire.Conversation], op: str, as_json: bool, *, id_only: bool = False
) -> None:
    if written.queued:
        output.queued(op, written.client_id, as_json, why=written.why_queued)
        return
    c = written.result
    if c is None:
        raise ClientError("no answer from the server")
    if as_json:
        output.print_json(c)
    elif id_only:
        output.stdout.print(c.id, markup=False)
        output.note(f"group {c.name!r}: {_members(c)}")
    else:
        state = "" if c.member else " (you are no longer a member)"
        output.note(f"{output.line(c.name)}: {_members(c)}{state}")


async def _on_group(
    client: RoostClient,
    typed: str,
    change: Callable[[ChatClient, str], Awaitable[Written[wire.Conversation]]],
) -> Written[wire.Conversation]:
    return await change(client.chat, await _target(client, typed, group=True))


def _members(c: wire.Conversation) -> str:
    return ", ".join(output.line(m) for m in c.members)


async def _queued_texts(client: RoostClient, target: str) -> list[str]:
    texts = []
    for entry in await client.outbox.entries():
        if entry.op == "chat.send" and not entry.failed:
            args = msgspec.json.decode(entry.args, type=wire.SendMessage)
            if args.to.lower() == target.lower():
                texts.append(args.text)
    return texts
