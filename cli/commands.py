"""Every `roost` command by name: its help panel, its one-line summary and where its code lives.

`roost --help` is printed from this table alone, and a command's module is imported only when
that command runs, so starting `roost` costs what the command used needs and nothing more.
A command added to a module needs its row here (tests/cli/test_help.py checks both agree).
"""

from __future__ import annotations

from typing import NamedTuple

ACCOUNT = "Account and this device"
SOCIAL = "Social"
CHAT = "Chat"
FILES = "Files"
SERVER = "Server"
PANELS = (ACCOUNT, SOCIAL, CHAT, FILES, SERVER)


class Entry(NamedTuple):
    name: str
    panel: str
    target: str  # "module:attribute": a command function, or a typer.Typer of sub-commands
    summary: str
    configured: bool = False  # options may also come from ROOST_* variables and a file


COMMANDS: tuple[Entry, ...] = (
    # Account and this device
    Entry("register", ACCOUNT, "cli.account:register", "Create an account and log this device in."),
    Entry("login", ACCOUNT, "cli.account:login", "Log this device in to an existing account."),
    Entry("logout", ACCOUNT, "cli.account:logout", "Log this device out and forget the account."),
    Entry("whoami", ACCOUNT, "cli.account:whoami", "The account and device logged in here."),
    Entry("password", ACCOUNT, "cli.password:password", "Change your password."),
    Entry("profile", ACCOUNT, "cli.profile:app", "Show or change profiles."),
    Entry("devices", ACCOUNT, "cli.devices:app", "List or revoke this account's devices."),
    Entry("usage", ACCOUNT, "cli.account:usage", "Your storage use and this server's limits."),
    Entry("outbox", ACCOUNT, "cli.outbox:app", "Writes queued while offline."),
    Entry("export", ACCOUNT, "cli.export:export", "Everything of yours, in one archive."),
    Entry("tui", ACCOUNT, "cli.tui:tui", "Open the terminal app (also: plain `roost`)."),
    # Social
    Entry("post", SOCIAL, "cli.social:post", "Publish a post."),
    Entry("timeline", SOCIAL, "cli.social:timeline", "Your home timeline, or one user's posts."),
    Entry("thread", SOCIAL, "cli.social:thread", "A post with what it replies to and its replies."),
    Entry("repost", SOCIAL, "cli.social:repost", "Repost a post."),
    Entry("like", SOCIAL, "cli.social:like", "Like a post."),
    Entry("unlike", SOCIAL, "cli.social:unlike", "Take back a like."),
    Entry("delete", SOCIAL, "cli.social:delete", "Delete one of your posts or reposts."),
    Entry("follow", SOCIAL, "cli.social:follow", "Follow a user."),
    Entry("unfollow", SOCIAL, "cli.social:unfollow", "Stop following a user."),
    Entry("followers", SOCIAL, "cli.social:followers", "Who follows a user."),
    Entry("following", SOCIAL, "cli.social:following", "Whom a user follows."),
    Entry("requests", SOCIAL, "cli.social:requests_app", "Follow requests to your locked account."),
    Entry("user", SOCIAL, "cli.social:user", "A profile with its counts."),
    Entry("search", SOCIAL, "cli.social:search", "Search people, posts, tags, messages, files."),
    Entry("trending", SOCIAL, "cli.social:trending", "Hashtags used by the most people lately."),
    Entry("suggest", SOCIAL, "cli.social:suggest", "Who to follow."),
    Entry("notifications", SOCIAL, "cli.social:notifications", "Mentions, replies, likes..."),
    Entry("block", SOCIAL, "cli.blocking:block", "Block a user."),
    Entry("unblock", SOCIAL, "cli.blocking:unblock", "Unblock a user."),
    Entry("mute", SOCIAL, "cli.blocking:mute", "Mute a user."),
    Entry("unmute", SOCIAL, "cli.blocking:unmute", "Unmute a user."),
    Entry("blocks", SOCIAL, "cli.blocking:blocks", "Whom you blocked."),
    Entry("mutes", SOCIAL, "cli.blocking:mutes", "Whom you muted."),
    # Chat
    Entry("chat", CHAT, "cli.chat:app", "Direct and group conversations: send, list, history..."),
    # Files
    Entry("sync", FILES, "cli.sync_command:sync", "Sync a folder with your Roost files."),
    Entry("share", FILES, "cli.files:share", "Share a folder with someone; accept or revoke."),
    Entry("files", FILES, "cli.files:files_app", "Your files anywhere: ls, get, put, mv, rm..."),
    Entry("link", FILES, "cli.links:link", "A public download link to a file; ls, rm."),
    Entry("media", FILES, "cli.files:media_app", "Post attachments."),
    Entry("conflicts", FILES, "cli.conflicts:app", "Conflicted copies: list, diff, keep one side."),
    # Server
    Entry("serve", SERVER, "cli.serve:serve", "Run a Roost server.", configured=True),
    Entry("admin", SERVER, "cli.admin:app", "Operate a server: invites, accounts, backups."),
    Entry("demo", SERVER, "cli.demo:demo", "A throwaway server with two people, in the TUI."),
)

BY_NAME = {entry.name: entry for entry in COMMANDS}
