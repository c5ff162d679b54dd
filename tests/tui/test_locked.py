"""Locked accounts in the terminal app against a real server: locking from your own profile,
a locked profile's lock and "Request to follow" / "Requested", and answering a request from
Notifications."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Checkbox, ListView, Static

from client.core import RoostClient
from client.social import Social
from protocol.profiles import GetProfile, SetProfile
from tests.conftest import LiveServer
from tests.tui.test_app import FAST, card_text, registered_home, until
from tests.tui.test_explore import other_card
from tui.app import RoostApp
from tui.screens.notifications import NotificationItem, NotificationsScreen
from tui.screens.profile import ProfileScreen, open_profile
from tui.widgets.profile import FollowButton


def notification_rows(app: RoostApp) -> list[str]:
    return [
        f"{i.notification.kind}:{i.notification.actor}" for i in app.screen.query(NotificationItem)
    ]


async def test_lock_your_profile_and_answer_a_request_from_notifications(
    live: LiveServer, tmp_path: Path
) -> None:
    lena_home = await registered_home(tmp_path, live.url, "lena", name="lena")
    pat_home = await registered_home(tmp_path, live.url, "pat", name="pat")
    cid_home = await registered_home(tmp_path, live.url, "cid", name="cid")
    app = RoostApp(lena_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f4")
        await until(lambda: "@lena" in card_text(app), "own profile")
        app.screen.query_one("#locked", Checkbox).value = True
        app.screen.query_one("#save", Button).press()
        await until(lambda: "🔒" in card_text(app), "the lock on her card")
        assert "locked: approves followers" in card_text(app)
        async with RoostClient(lena_home) as lena:
            assert (await lena.call("profile.get", GetProfile())).locked

        for home in (pat_home, cid_home):
            async with RoostClient(home) as asker:
                asked = (await Social(asker).follow("lena")).result
                assert asked is not None and asked.requested

        await pilot.press("f3")
        await until(lambda: isinstance(app.screen, NotificationsScreen), "notifications")
        await until(
            lambda: sorted(notification_rows(app)) == ["follow_request:cid", "follow_request:pat"],
            "both requests",
        )
        view = app.screen.query_one("#notifications", ListView)
        rows = notification_rows(app)
        text = str(view.children[0].query_one(Static).render())
        assert "asks to follow you" in text and "a approve" in text

        view.index = rows.index("follow_request:pat")
        await pilot.press("a")
        await until(lambda: "follow:pat" in notification_rows(app), "pat approved")
        view.index = notification_rows(app).index("follow_request:cid")
        await pilot.press("x")
        await until(lambda: notification_rows(app) == ["follow:pat"], "cid declined")

    async with RoostClient(lena_home) as lena:
        followers = (await Social(lena).followers()).result.users
        assert [u.username for u in followers] == ["pat"]
        assert (await Social(lena).requests()).result.requests == []
    async with RoostClient(pat_home) as pat:
        told = (await Social(pat).notifications()).result.notifications
        assert [(n.kind, n.actor) for n in told] == [("follow_accepted", "lena")]


async def test_a_locked_profile_asks_and_shows_the_request(
    live: LiveServer, tmp_path: Path
) -> None:
    lena_home = await registered_home(tmp_path, live.url, "lena", name="lena")
    pat_home = await registered_home(tmp_path, live.url, "pat", name="pat")
    async with RoostClient(lena_home) as lena:
        await Social(lena).post("for my followers")
        await lena.write("profile.set", SetProfile(locked=True))

    app = RoostApp(pat_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        open_profile(app, "lena")
        await until(lambda: isinstance(app.screen, ProfileScreen), "lena's profile")
        await until(lambda: "🔒" in other_card(app), "the lock")
        button = app.screen.query_one("#follow", FollowButton)
        await until(lambda: str(button.label) == "Request to follow", "asks, not follows")
        note = app.screen.query_one("#user-posts-note", Static)
        await until(lambda: "Only the people @lena approves" in str(note.render()), "no posts")
        assert not app.screen.query_one("#user-posts", ListView).children

        await pilot.press("f")
        await until(lambda: str(button.label) == "Requested", "requested")
        assert "you asked to follow" in other_card(app)
        async with RoostClient(lena_home) as lena:
            waiting = (await Social(lena).requests()).result.requests
            assert [r.username for r in waiting] == ["pat"]

        await pilot.press("f")  # take it back
        await until(lambda: str(button.label) == "Request to follow", "withdrawn")
        async with RoostClient(lena_home) as lena:
            assert (await Social(lena).requests()).result.requests == []

        await pilot.press("f")  # ask again, and this time lena says yes
        await until(lambda: str(button.label) == "Requested", "asked again")
        async with RoostClient(lena_home) as lena:
            await Social(lena).approve("pat")
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, ProfileScreen), "back")
        open_profile(app, "lena")
        await until(lambda: bool(app.screen.query("#user-posts")), "lena's profile again")
        posts = app.screen.query_one("#user-posts", ListView)
        await until(lambda: len(posts.children) == 1, "her post, now he follows her")
        button = app.screen.query_one("#follow", FollowButton)
        await until(lambda: str(button.label) == "Unfollow", "following")
        await pilot.press("f")  # unfollowing a locked account: her posts go with it
        await until(lambda: str(button.label) == "Request to follow", "unfollowed")
        await until(lambda: not posts.children, "her posts gone")
