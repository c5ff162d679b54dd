"""chat: send, groups and their members, the conversation list, history, read receipts,
presence."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer
from rich.table import Table

from cli import output
from cli.options import AsJson
from cli.session import with_client
from client.chat import describe
from client.core import Read, RoostClient, Written
from client.display import clean
from client.errors import ClientError
from protocol import chat as wire
from protocol.errors import RoostError

app = typer.Typer(help="Direct and group conversations.", no_args_is_help=True)

TargetArg = Annotated[str, typer.Argument(help="@user, or a conversation id.", metavar="TARGET")]
GroupArg = Annotated[str, typer.Argument(help="The group's conversation id.", metavar="GROUP")]


def _target(text: str) -> str:
    try:
        wire.parse_target(text)
    except RoostError as exc:
        raise typer.BadParameter(exc.message) from None
    return text


@app.command("send")
def send(
    target: TargetArg,
    text: Annotated[str, typer.Argument(help="The message.", metavar="TEXT")],
    as_json: AsJson = False,
) -> None:
    """Send a message (queued if the server is unreachable)."""
    target = _target(target)

    async def body(client: RoostClient) -> Written[wire.Message]:
        return await client.chat.send(target, text)

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
    written = with_client(lambda c: c.chat.add(group, user.lstrip("@")))
    _print_conversation(written, "chat.group.add", as_json)


@app.command("remove")
def remove(group: GroupArg, user: str, as_json: AsJson = False) -> None:
    """Remove someone from a group you created."""
    written = with_client(lambda c: c.chat.remove(group, user.lstrip("@")))
    _print_conversation(written, "chat.group.remove", as_json)


@app.command("leave")
def leave(group: GroupArg, as_json: AsJson = False) -> None:
    """Leave a group (you keep its history up to now)."""
    written = with_client(lambda c: c.chat.leave(group))
    _print_conversation(written, "chat.group.leave", as_json)


@app.command("list")
def list_(as_json: AsJson = False) -> None:
    """Your conversations, most recent first, with unread counts."""
    answer: Read[list[wire.Conversation]] = with_client(lambda c: c.chat.conversations())
    if answer.offline:
        output.offline(answer.cached_at)
    if as_json:
        output.print_json(answer.result)
        return
    if not answer.result:
        output.note("no conversations yet: roost chat send @user TEXT")
        return
    table = Table("id", "name", "members", "unread", "last #")
    for c in answer.result:
        name = f"@{output.line(c.name)}" if c.kind == "direct" else output.line(c.name)
        if not c.member:
            name += " (left)"
        members = ", ".join(output.line(m) for m in c.members)
        table.add_row(c.id, name, members, str(c.unread or ""), str(c.last_seq))
    output.stdout.print(table)


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
    target = _target(target)

    async def body(client: RoostClient) -> tuple[Read[wire.MessagePage], list[str]]:
        page = await client.chat.history(target, limit=limit, before=before)
        queued = [] if not page.offline else await _queued_texts(client, target)
        return page, queued

    answer, queued = with_client(body)
    if answer.offline:
        output.note("offline: showing the messages cached on this device")
    page = answer.result
    if as_json:
        output.print_json(page.messages)
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
    target = _target(target)
    written = with_client(lambda c: c.chat.read(target, seq))
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
        output.print_json(users)
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
