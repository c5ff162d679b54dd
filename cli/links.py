"""roost link PATH | link ls | link rm LINK: public links, thin over client.links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from cli import output
from cli.account import read_password
from cli.options import AsJson
from cli.session import with_client
from client.errors import ClientError

ACTIONS = ("ls", "rm")


def link(
    what: Annotated[
        str | None,
        typer.Argument(
            help="A file of yours to link to; or ls, or rm then LINK. (A file called ls or rm:"
            " write ./ls.)"
        ),
    ] = None,
    which: Annotated[
        str | None, typer.Argument(help="After rm: the link's URL, token or id.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", help="How long the link works: 30m, 12h, 7d, 2w. Default: until removed."
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Ask downloaders for a password, read from the first line of stdin.",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Print a URL anyone can download the current version of a file from (a browser, curl);
    later versions of the file do not change what the link hands out.

    roost link ls lists your links; roost link rm LINK takes one down (it then answers 404).
    A password is asked for by the browser (curl: -u :PASSWORD).
    """
    if what in ACTIONS:
        if expires is not None or password_stdin:
            raise ClientError(f"--expires and --password-stdin go with PATH, not with {what}")
        if what == "ls":
            _list(as_json)
        else:
            _remove(which, as_json)
        return
    if what is None:
        raise ClientError("name a file to link to (roost link PATH), or: roost link ls")
    if which is not None:
        raise ClientError(f"one file at a time: roost link PATH (got {which!r} too)")
    path = what[2:] if what.startswith("./") else what
    _create(path, expires, password_stdin, as_json)


def _create(path: str, expires: str | None, password_stdin: bool, as_json: bool) -> None:
    from client.links import PublicLinks, parse_expiry

    seconds = None if expires is None else parse_expiry(expires)
    password = None
    if password_stdin:
        password = read_password(True, confirm=False)
        if not password:
            raise ClientError("--password-stdin: the password is empty")
    created, url = with_client(
        lambda c: PublicLinks(c).create(path, expires_in_s=seconds, password=password)
    )
    if as_json:
        output.print_json({**_link_json(created.link, path), "url": url})
        return
    print(url)
    until = _until(created.link.expires_at_ms)
    guarded = "; it asks for the password" if created.link.has_password else ""
    output.note(
        f"anyone with this URL can download {path} ({output.size(created.link.size)}, this"
        f" version) {until}{guarded}; roost link rm {created.link.id} takes it down"
    )


def _list(as_json: bool) -> None:
    from client.links import PublicLinks

    found = with_client(lambda c: PublicLinks(c).list())
    if as_json:
        output.print_json({"links": [_link_json(link, shown) for link, shown in found]})
        return
    if not found:
        output.note("no links (roost link PATH makes one)")
        return
    rows = [
        [link.id, output.line(shown), output.size(link.size),
         "expired" if link.expired else _until(link.expires_at_ms),
         "yes" if link.has_password else "no"]
        for link, shown in found
    ]  # fmt: skip
    output.table(["id", "path", "size", "works", "password"], rows)


def _remove(which: str | None, as_json: bool) -> None:
    from client.links import PublicLinks

    if which is None:
        raise ClientError(
            "roost link rm LINK: name the link by its URL, token or id (roost link ls)"
        )
    removed = with_client(lambda c: PublicLinks(c).remove(which))
    if as_json:
        output.print_json({"id": removed.id, "removed": True})
    else:
        output.note(f"removed link {removed.id}: its URL now answers 404")


def _until(expires_at_ms: int | None) -> str:
    if expires_at_ms is None:
        return "until removed"
    return "until " + output.when(datetime.fromtimestamp(expires_at_ms / 1000, UTC))


def _link_json(link: Any, path: str) -> dict[str, Any]:
    return {
        "id": link.id,
        "path": path,
        "version": link.version_id,
        "size": link.size,
        "created_at": datetime.fromtimestamp(link.created_at_ms / 1000, UTC),
        "expires_at": None
        if link.expires_at_ms is None
        else datetime.fromtimestamp(link.expires_at_ms / 1000, UTC),
        "expired": link.expired,
        "password": link.has_password,
    }
