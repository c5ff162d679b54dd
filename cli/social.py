"""Top-level social commands: post, repost, like, unlike, delete, thread, timeline, follow,
unfollow, requests (approve / decline), followers, following, user, search, trending, suggest,
notifications."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import output, typed_ids
from cli import social_output as show
from cli.compose import composed
from cli.options import AsJson
from cli.session import with_client
from client.core import Read, RoostClient, Written
from client.errors import Unreachable

PostId = Annotated[
    str,
    typer.Argument(
        help="A post id, its last 6+ digits, #N from the last listing, or local:N for a queued"
        " post.",
        callback=typed_ids.callback("post", allow_local=True),
    ),
]
Limit = Annotated[int, typer.Option("--limit", min=1, max=100, help="How many to show.")]
Before = Annotated[
    str | None, typer.Option("--before", help="Only older than this id (from the last page).")
]
BeforePost = Annotated[
    str | None,
    typer.Option(
        "--before",
        help="Only older than this post (the id the last page named, its last 6+ digits, #N).",
        callback=typed_ids.callback("post"),
    ),
]
UserArg = Annotated[str | None, typer.Argument(help="A username; you if left out.")]


def _write(body: Any, op: str, as_json: bool, said: Callable[[Any], None]) -> Any:
    """Every social write prints the same way: the queued note when it was queued, else its
    result as JSON with --json, else what `said(result)` prints. The result (None when queued)
    is returned for what the caller does beside printing."""

    async def run(client: RoostClient) -> Written[Any]:
        return await body(client.social)  # type: ignore[no-any-return]

    written: Written[Any] = with_client(run)
    if written.queued:
        output.queued(op, written.client_id, as_json, written.local_id, why=written.why_queued)
        return None
    if as_json:
        output.print_json(written.result)
    else:
        said(written.result)
    return written.result


def _quiet(result: Any) -> None:
    """For a write whose caller prints its own line."""


def _read(body: Any, offline: Any = None) -> Any:
    """Run a read; `offline(client)`: what the cache can piece together when the server is
    unreachable and this exact read was never cached (None: nothing)."""

    async def run(client: RoostClient) -> Read[Any]:
        try:
            return await body(client.social)  # type: ignore[no-any-return]
        except Unreachable:
            pieced = await offline(client) if offline is not None else None
            if pieced is None:
                raise
            return pieced  # type: ignore[no-any-return]

    answer: Read[Any] = with_client(run)
    if answer.offline:
        output.offline(answer.cached_at)
    return answer.result


def post(
    text: Annotated[
        str | None,
        typer.Argument(
            help="Up to 280 characters; @user and #tag work. - reads it from stdin; left out,"
            " $EDITOR opens for it.",
            metavar="[TEXT]",
        ),
    ] = None,
    reply_to: Annotated[
        str | None,
        typer.Option(
            "--reply-to",
            help="Reply to this post (an id, its last 6+ digits or #N).",
            callback=typed_ids.callback("post", allow_local=True),
        ),
    ] = None,
    attach: Annotated[
        list[Path] | None,
        typer.Option(
            "--attach", metavar="FILE", help="Attach a file (repeat for up to 4); needs the server."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Publish a post.

    Queued if the server is unreachable; one with attachments needs it (they go up first).
    """
    files = attach or []
    body = composed(text, nothing="nothing posted: the text is empty")
    result = _write(
        lambda s: s.post_files(body, files, reply_to) if files else s.post(body, reply_to),
        "post.create",
        as_json,
        show.print_post,
    )
    if result is not None:
        typed_ids.remember("post", [result.id], listing=False)


def repost(post_id: PostId, as_json: AsJson = False) -> None:
    """Repost a post."""
    result = _write(lambda s: s.repost(post_id), "post.repost", as_json, show.print_post)
    if result is not None:
        typed_ids.remember("post", [result.id], listing=False)


def like(post_id: PostId, as_json: AsJson = False) -> None:
    """Like a post."""
    _write(
        lambda s: s.like(post_id), "post.like", as_json, lambda _: output.note(f"liked {post_id}")
    )


def unlike(post_id: PostId, as_json: AsJson = False) -> None:
    """Take back a like."""
    _write(
        lambda s: s.unlike(post_id),
        "post.unlike",
        as_json,
        lambda _: output.note(f"unliked {post_id}"),
    )


def delete(post_id: PostId, as_json: AsJson = False) -> None:
    """Delete one of your posts or reposts."""
    _write(
        lambda s: s.delete(post_id),
        "post.delete",
        as_json,
        lambda _: output.note(f"deleted {post_id}"),
    )


def thread(post_id: PostId, as_json: AsJson = False) -> None:
    """Show a post with what it replies to and its replies."""
    result = _read(lambda s: s.thread(post_id))
    typed_ids.remember("post", [p.id for p in show.thread_posts(result)])
    output.print_json(result) if as_json else show.print_thread(result)


def timeline(
    user: Annotated[str | None, typer.Option("--user", help="One user's posts.")] = None,
    limit: Limit = 20,
    before: BeforePost = None,
    as_json: AsJson = False,
) -> None:
    """Your home timeline (or one user's posts), newest first."""
    from client import offline_reads

    if user is None:
        page = _read(
            lambda s: s.home(limit, before),
            None if before else lambda c: offline_reads.home_timeline(c, limit),
        )
    else:
        page = _read(
            lambda s: s.user_timeline(user, limit, before),
            None if before else lambda c: offline_reads.user_timeline(c, user, limit),
        )
    typed_ids.remember("post", [show.shown_id(p) for p in page.posts])
    if as_json:
        output.print_json(page)
    else:
        show.print_page(page, "nothing here yet: follow someone, or post something")


def follow(username: str, as_json: AsJson = False) -> None:
    """Follow a user."""

    def said(result: Any) -> None:
        name = output.line(result.username)
        if result.requested:
            output.note(f"requested: @{name} approves follow requests")
        else:
            output.note(f"following @{name}")

    _write(lambda s: s.follow(username), "follow.add", as_json, said)


def unfollow(username: str, as_json: AsJson = False) -> None:
    """Stop following a user (or take back a follow request still waiting)."""
    _write(
        lambda s: s.unfollow(username),
        "follow.remove",
        as_json,
        lambda r: output.note(f"unfollowed @{output.line(r.username)}"),
    )


def followers(username: UserArg = None, as_json: AsJson = False) -> None:
    """Who follows a user."""
    result = _read(lambda s: s.followers(username))
    if as_json:
        output.print_json({"users": result.users})
    else:
        show.print_users(result.users, "no followers")


def following(username: UserArg = None, as_json: AsJson = False) -> None:
    """Whom a user follows."""
    result = _read(lambda s: s.following(username))
    if as_json:
        output.print_json({"users": result.users})
    else:
        show.print_users(result.users, "not following anyone")


def user(username: UserArg = None, as_json: AsJson = False) -> None:
    """A profile with post, follower and following counts."""
    result = _read(lambda s: s.profile(username))
    output.print_json(result) if as_json else show.print_profile(result)


def search(
    query: Annotated[str, typer.Argument(help="Words to find.")],
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100, help="Most hits of each kind.")
    ] = 20,
    as_json: AsJson = False,
) -> None:
    """Search what you may see: people, posts, tags, your chat messages, your files' names."""
    from client import offline_reads

    result = _read(
        lambda s: s.search(query, limit), lambda c: offline_reads.search(c, query, limit)
    )
    typed_ids.remember("post", [show.shown_id(p) for p in result.posts])
    if as_json:
        output.print_json(result)
        return
    show.print_search(result, query)


def trending(
    hours: Annotated[int, typer.Option("--hours", min=1, max=720, help="Window.")] = 24,
    as_json: AsJson = False,
) -> None:
    """Hashtags used by the most people lately."""
    result = _read(lambda s: s.trending(hours))
    if as_json:
        output.print_json({"tags": result.tags})
        return
    if not result.tags:
        output.note(f"no hashtags in the last {hours} hours")
    for t in result.tags:
        people = "person" if t.authors == 1 else "people"
        posts = "post" if t.posts == 1 else "posts"
        output.stdout.print(
            f"#{output.line(t.tag)}  {t.authors} {people}, {t.posts} {posts}", markup=False
        )


def suggest(as_json: AsJson = False) -> None:
    """Who to follow: people followed by people you follow."""
    result = _read(lambda s: s.suggest())
    if as_json:
        output.print_json({"users": result.users})
        return
    if not result.users:
        output.note("no suggestions yet: follow a few people first")
    for u in result.users:
        output.stdout.print(
            f"@{output.line(u.username)}  followed by"
            f" {', '.join('@' + output.line(n) for n in u.followed_by)}"
            f" ({u.mutuals} you follow, {output.count(u.followers, 'follower')})",
            markup=False,
        )


def notifications(
    limit: Limit = 30,
    before: Before = None,
    mark_read: Annotated[bool, typer.Option("--read", help="Then mark them all as read.")] = False,
    as_json: AsJson = False,
) -> None:
    """Mentions, replies, likes, reposts and follows, newest first."""
    result = _read(lambda s: s.notifications(limit, before))
    mentioned = [show.shown_id(n.post) for n in result.notifications if n.post is not None]
    typed_ids.remember("post", mentioned, listing=False)
    output.print_json(result) if as_json else show.print_notifications(result)
    if mark_read and result.notifications:
        newest = result.notifications[0].id
        if _write(lambda s: s.mark_read(newest), "notifications.read", False, _quiet) is not None:
            output.note("marked as read")


requests_app = typer.Typer(
    help="Follow requests to your locked account: list, approve, decline.",
    invoke_without_command=True,
)


@requests_app.callback()
def requests(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Follow requests waiting for your answer (lock with: roost profile set --locked)."""
    if ctx.invoked_subcommand is not None:
        return
    result = _read(lambda s: s.requests())
    if as_json:
        output.print_json({"requests": result.requests})
    else:
        show.print_requests(result.requests)


@requests_app.command("approve")
def approve(username: str, as_json: AsJson = False) -> None:
    """Approve USER's request: they follow you and see your posts from now on."""
    _write(
        lambda s: s.approve(username),
        "follow.approve",
        as_json,
        lambda r: output.note(f"approved: @{output.line(r.username)} follows you now"),
    )


@requests_app.command("decline")
def decline(username: str, as_json: AsJson = False) -> None:
    """Decline USER's request (they are not told)."""
    _write(
        lambda s: s.decline(username),
        "follow.decline",
        as_json,
        lambda r: output.note(f"declined @{output.line(r.username)}'s request"),
    )


COMMANDS: list[Callable[..., None]] = [
    post,
    repost,
    like,
    unlike,
    delete,
    thread,
    timeline,
    follow,
    unfollow,
    followers,
    following,
    user,
    search,
    trending,
    suggest,
    notifications,
]


def register(app: typer.Typer) -> None:
    for command in COMMANDS:
        app.command()(command)
    app.add_typer(requests_app, name="requests")
