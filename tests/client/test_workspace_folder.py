"""Choosing the workspace folder: the rule each refusal comes from."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.errors import ClientError
from client.workspace_folder import check_workspace_folder, make_workspace_folder


def check(text: str, tmp_path: Path) -> Path:
    return check_workspace_folder(
        text, client_home=tmp_path / "roost-home", user_home=tmp_path / "me"
    )


def test_a_new_folder_under_home_is_fine_and_made(tmp_path: Path) -> None:
    (tmp_path / "me").mkdir()
    chosen = check("~/Roost", tmp_path)
    assert chosen == (tmp_path / "me" / "Roost").resolve()
    assert make_workspace_folder(chosen) and chosen.is_dir()
    assert not make_workspace_folder(chosen)  # already there


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "type a folder"),
        ("Roost", "give the whole path"),
        ("/", "choose a folder of its own"),
        ("~", "choose a folder of its own"),
        ("{home}/roost-home", "overlaps Roost's own data folder"),
        ("{home}/roost-home/sub", "overlaps"),
        ("{home}", "overlaps"),
        ("{home}/a-file", "is a file, not a folder"),
        ("/tmp/x\ny", "control characters"),
    ],
)
def test_each_refusal_says_what_to_do(tmp_path: Path, text: str, says: str) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ClientError) as refused:
        check(text.format(home=tmp_path), tmp_path)
    assert says in str(refused.value) and "\n" not in str(refused.value)


@given(st.text(max_size=40))
def test_any_text_is_a_folder_or_one_line_refusal(text: str) -> None:
    base = Path("/nonexistent-roost-test")
    try:
        path = check_workspace_folder(text, client_home=base / "h", user_home=base / "me")
    except ClientError as exc:
        assert "\n" not in str(exc)
    else:
        assert path.is_absolute()
