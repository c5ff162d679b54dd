"""An example for every command, shown at the end of its --help.

Keyed by the command's path under `roost`; cli.lazy puts them into each command's epilog when
the command is loaded, so the command modules stay as they are. tests/cli/test_help.py walks
the whole command tree and fails on a command without one.
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    # Account and this device
    "register": (
        "roost register alice --server ws://127.0.0.1:7447",
        "roost register bob --server roost.example.org:7447 --invite CODE",
    ),
    "login": ("roost login alice --server ws://127.0.0.1:7447 --device laptop",),
    "logout": ("roost logout",),
    "whoami": ("roost whoami --json",),
    "usage": ("roost usage",),
    "password": ("roost password", "roost password --reset CODE"),
    "profile": ("roost profile show bob", "roost profile set --name 'Alice A.' --bio 'hi'"),
    "profile show": ("roost profile show", "roost profile show bob --json"),
    "profile set": ("roost profile set --bio 'plants and bikes'", "roost profile set --locked"),
    "devices": ("roost devices", "roost devices revoke DEVICE_ID"),
    "devices revoke": ("roost devices revoke DEVICE_ID",),
    "outbox": ("roost outbox", "roost outbox drop 3"),
    "outbox drop": ("roost outbox drop 3",),
    "export": ("roost export --output ~/roost-export.zip",),
    "tui": ("roost tui", "ROOST_HOME=~/.roost-bob roost tui"),
    # Social
    "post": (
        "roost post 'hello #roost'",
        "roost post 'me too' --reply-to POST_ID",
        "roost post 'the view' --attach photo.jpg",
    ),
    "timeline": ("roost timeline", "roost timeline --user bob --limit 5 --json"),
    "thread": ("roost thread POST_ID",),
    "repost": ("roost repost POST_ID",),
    "like": ("roost like POST_ID",),
    "unlike": ("roost unlike POST_ID",),
    "delete": ("roost delete POST_ID",),
    "follow": ("roost follow bob",),
    "unfollow": ("roost unfollow bob",),
    "followers": ("roost followers", "roost followers bob --json"),
    "following": ("roost following", "roost following bob"),
    "requests": ("roost requests", "roost requests approve bob"),
    "requests approve": ("roost requests approve bob",),
    "requests decline": ("roost requests decline bob",),
    "user": ("roost user bob",),
    "search": ("roost search '#roost'", "roost search bob --json"),
    "trending": ("roost trending", "roost trending --hours 6"),
    "suggest": ("roost suggest",),
    "notifications": ("roost notifications", "roost notifications --read"),
    "block": ("roost block mallory",),
    "unblock": ("roost unblock mallory",),
    "mute": ("roost mute bob",),
    "unmute": ("roost unmute bob",),
    "blocks": ("roost blocks",),
    "mutes": ("roost mutes",),
    # Chat
    "chat": ("roost chat send @bob 'lunch at noon?'", "roost chat list", "roost chat history @bob"),
    "chat send": ("roost chat send @bob 'lunch at noon?'", "roost chat send GROUP_ID 'on my way'"),
    "chat group": ("roost chat group climbing bob carol",),
    "chat add": ("roost chat add GROUP_ID dave",),
    "chat remove": ("roost chat remove GROUP_ID dave",),
    "chat leave": ("roost chat leave GROUP_ID",),
    "chat list": ("roost chat list", "roost chat list --json"),
    "chat history": ("roost chat history @bob --limit 20",),
    "chat read": ("roost chat read @bob",),
    "chat presence": ("roost chat presence",),
    # Files
    "sync": (
        "roost sync ~/Roost",
        "roost sync ~/Roost --dry-run",
        "roost sync status",
        "roost sync install-service ~/Roost",
        "roost sync exclude Videos",
        "roost sync include Videos",
    ),
    "conflicts": ("roost conflicts", "roost conflicts diff notes.txt"),
    "conflicts diff": ("roost conflicts diff notes.txt",),
    "conflicts keep": ("roost conflicts keep notes.txt --theirs",),
    "share": ("roost share Photos bob --role editor", "roost share accept Photos", "roost share"),
    "link": (
        "roost link report.pdf --expires 7d",
        "echo 'sesame' | roost link Photos/trip.zip --password-stdin",
        "roost link ls",
        "roost link rm LINK_ID",
    ),
    "files": ("roost files ls", "roost files get notes.txt", "roost files history notes.txt"),
    "files ls": ("roost files ls", "roost files ls Photos --recursive"),
    "files history": ("roost files history notes.txt",),
    "files restore": (
        "roost files restore notes.txt --version VERSION",
        "roost files restore docs --at 14:30 --dry-run",
    ),
    "files purge": ("roost files purge old-stuff --yes",),
    "files get": ("roost files get notes.txt --output ~/notes.txt", "roost files get -r Photos"),
    "files put": ("roost files put ~/notes.txt notes.txt", "roost files put ~/Photos Photos"),
    "files rm": ("roost files rm notes.txt", "roost files rm old-stuff -r"),
    "files mv": ("roost files mv notes.txt Archive/", "roost files mv draft.md final.md"),
    "files mkdir": ("roost files mkdir Photos/2026",),
    "files cat": ("roost files cat notes.txt | less",),
    "media": ("roost media put photo.jpg", "roost media get POST_ID"),
    "media put": ("roost media put photo.jpg",),
    "media get": ("roost media get POST_ID --output ~/Downloads",),
    # Server
    "serve": (
        "roost serve --port 7447 --data ~/roost-data",
        "roost serve --host 0.0.0.0 --registration invite --config server.toml",
    ),
    "admin": ("roost admin invite", "roost admin users", "roost admin backup ~/roost-backup"),
    "admin backup": ("roost admin backup ~/roost-backup --data ~/roost-data",),
    "admin restore": ("roost admin restore ~/roost-backup --data ~/roost-data",),
    "admin gc": ("roost admin gc --data ~/roost-data --grace 24h",),
    "admin du": ("roost admin du --data ~/roost-data",),
    "admin copy": ("roost admin copy --to postgresql://roost@db.example.org/roost --data ~/d",),
    "admin invites": ("roost admin invites",),
    "admin invite": ("roost admin invite --uses 3 --expires 7d", "roost admin invite revoke CODE"),
    "admin invite revoke": ("roost admin invite revoke CODE",),
    "admin users": ("roost admin users --json",),
    "admin disable": ("roost admin disable mallory",),
    "admin enable": ("roost admin enable mallory",),
    "admin promote": ("roost admin promote bob",),
    "admin demote": ("roost admin demote bob",),
    "admin reset-password": ("roost admin reset-password bob",),
    "admin delete": ("roost admin delete mallory",),
    "demo": (
        "roost demo",
        "roost demo --keep",
        "roost demo --no-tui   # then join from other terminals",
    ),
}

# What `roost --help` shows under Examples: the first minutes, in order.
FIRST_STEPS: tuple[tuple[str, str], ...] = (
    ("roost demo", "try it: a throwaway server, two people"),
    ("roost serve --port 7447 --data ~/roost-data", "a server (it keeps this terminal)"),
    ("roost register alice", "an account there; logs in here"),
    ("roost post 'hello #roost'", "publish a post"),
    ("roost chat send @bob 'lunch?'", "message someone"),
    ("roost sync ~/Roost", "sync a folder"),
    ("roost tui", "the full-screen app"),
)


def epilog(path: str) -> str | None:
    """The examples of the command at `path`, as a help epilog (paragraphs: Typer's rich help
    joins single lines)."""
    lines = EXAMPLES.get(path)
    if not lines:
        return None
    return "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)
