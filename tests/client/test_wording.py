"""Queued writes and refusals in people's words: no op or field names of the protocol."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.error_wording import plain_message
from client.write_wording import TEXT_SHOWN, describe_write
from protocol.ops import OPS


@pytest.mark.parametrize(
    ("op", "args", "said"),
    [
        ("post.create", {"text": "on the train"}, 'post "on the train"'),
        ("post.create", {"text": "yes", "reply_to": "12"}, 'post "yes" in reply to post 12'),
        ("post.like", {"post_id": "local:3"}, "like post local:3"),
        ("chat.send", {"to": "@bob", "text": "hi\nthere"}, 'message to @bob: "hi there"'),
        ("profile.set", {"bio": "b", "locked": True}, 'profile: bio "b", lock the account'),
        ("follow.add", {"username": "bob"}, "follow @bob"),
        ("chat.group.create", {"name": "g", "members": ["a"]}, 'start the group "g" with @a'),
    ],
)
def test_writes_say_what_they_will_do(op: str, args: dict[str, object], said: str) -> None:
    assert describe_write(op, args) == said


def test_long_text_is_cut_to_one_short_line() -> None:
    said = describe_write("post.create", {"text": "x" * 500})
    assert len(said) == len('post ""') + TEXT_SHOWN and said.endswith('…"')


@given(st.sampled_from(sorted(o for o, s in OPS.items() if s.write)), st.dictionaries(
    st.sampled_from(["text", "to", "username", "post_id", "bio", "members", "name"]),
    st.one_of(st.none(), st.text(max_size=20), st.integers(), st.lists(st.text(max_size=5))),
))  # fmt: skip
def test_every_write_is_described_without_its_op_name(op: str, args: dict[str, object]) -> None:
    said = describe_write(op, args)
    assert op not in said and "\n" not in said and said


@pytest.mark.parametrize(
    ("message", "args", "said"),
    [
        ("bad post.like args: post_id must be an id", {"post_id": "abc"}, "not a post id: abc"),
        ("bad devices.revoke args: device_id must be an id", None, "not a device id"),
        (
            "bad profile.set args: display_name is too long (at most 64 characters)",
            None,
            "the name is too long (at most 64 characters)",
        ),
        (
            "bad chat.read args: Expected `int`, got `str` - at `$.seq`",
            None,
            "the message number must be a whole number",
        ),
        ("bad post.create args: Object missing required field `text`", None, "the text is missing"),
        ("no post 12", None, "no post 12"),  # the server's own words stay
    ],
)
def test_refusals_in_the_users_terms(
    message: str, args: dict[str, object] | None, said: str
) -> None:
    assert plain_message(message, args) == said


@given(st.sampled_from(sorted(OPS)), st.text(max_size=60))
def test_no_op_name_survives(op: str, rest: str) -> None:
    said = plain_message(f"bad {op} args: {rest}")
    assert f"{op} args" not in said
