"""The help screen: every key binding and what the command palette offers."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Roost — keys

| key | what it does |
|---|---|
| **F2** | home: type a post at once (**Enter** sends, **Esc** to the timeline) |
| | in the timeline: **n** post, **r** reply, **l** like, **t** repost, **p** author |
| **F3** | notifications (**m** marks them read; **Enter** opens the post, **p** who did it) |
| **F4** | your profile (edit name and bio; look up someone else's) |
| **F5** | devices logged in to your account (revoke a lost one) |
| **F6** | messages: **Enter** opens a chat, **n** new chat, **Escape** back to the list |
| **F7** | files: **s** sync on/off, **h** history, restore; **m** share, **d** deleted |
| **a** / **x** | on Files, an invitation to a shared folder: accept / decline it |
| **F8** | explore: **/** to search people, posts, #tags, your messages and files |
| **f** | on someone's profile: follow or unfollow; **Escape** goes back |
| **Alt+1**…**8** | the same as **F1**…**F8** |
| **j** / **k**, **↓** / **↑** | move in a list |
| **Tab** / **Shift+Tab** | next / previous field or list |
| **Ctrl+P** | command palette: every action by name |
| **Ctrl+T** | light / dark theme |
| **Ctrl+S** | save the form you are editing |
| **F1**, **Alt+1** or **?** | this help |
| **Escape** | close a dialog |
| **Ctrl+Q** | quit |

Single letters are commands only while a list has the focus; in a text box they are what you
type. F-keys that your terminal or laptop keeps for itself have an **Alt+digit** twin.

The status bar shows whether you are **connected**, **offline** (and when the next attempt to
reconnect is), and how many writes wait in the **outbox**. What you change while offline is
shown at once, marked *pending*, and sent in order when the server is back.

The mouse works too: click tabs, buttons and rows.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,alt+1,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
