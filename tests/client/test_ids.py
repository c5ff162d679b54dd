"""Typed ids: whole ids, unique suffixes of 6+ digits, `#N` from the last listing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.ids import MIN_SUFFIX, BadId, ListedIds, resolve_id

ids = st.integers(min_value=10**15, max_value=2**63 - 1).map(str)


@given(st.lists(ids, min_size=1, max_size=30, unique=True), st.data())
def test_a_whole_id_or_its_listing_number_is_that_id(
    listed: list[str], data: st.DataObject
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(listed) - 1))
    assert resolve_id(listed[i], "post", listed) == listed[i]
    assert resolve_id(f"#{i + 1}", "post", listed) == listed[i]


@given(st.lists(ids, min_size=1, max_size=30, unique=True), st.data())
def test_a_suffix_names_its_id_when_unique_and_lists_every_match_when_not(
    known: list[str], data: st.DataObject
) -> None:
    target = data.draw(st.sampled_from(known))
    length = data.draw(st.integers(min_value=MIN_SUFFIX, max_value=len(target)))
    suffix = target[-length:]
    matches = sorted(k for k in known if k.endswith(suffix))
    if suffix in known or len(matches) == 1:
        assert resolve_id(suffix, "post", seen=known) in (suffix, target)
    else:
        with pytest.raises(BadId) as exc:
            resolve_id(suffix, "post", seen=known)
        assert str(exc.value) == f"ambiguous id {suffix}: matches {', '.join(matches)}"


@given(st.text(max_size=30))
def test_anything_typed_is_an_id_of_digits_or_one_line_refusal(typed: str) -> None:
    try:
        found = resolve_id(typed, "device", ["1234567890123456"])
    except BadId as exc:
        assert "\n" not in str(exc).replace(typed, "")
        return
    assert found.isdigit()


def test_the_ambiguity_message_names_the_matches() -> None:
    seen = ["12238944996016012", "9999000601234", "1111601234"]
    with pytest.raises(BadId, match=r"^ambiguous id 601234: matches 1111601234, 9999000601234$"):
        resolve_id("601234", "post", seen=seen)
    assert resolve_id("016012", "post", seen=seen) == "12238944996016012"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("abc", "not a post id: abc"),
        ("#0", "not a post id: #0"),
        ("#x", "not a post id: #x"),
        ("12-3", "not a post id: 12-3"),
        ("#3", "no #3: the last post listing has 2 (list again: roost timeline)"),
    ],
)
def test_what_is_no_id_says_so_in_a_line(typed: str, says: str) -> None:
    with pytest.raises(BadId) as exc:
        resolve_id(typed, "post", ["1000000000000001", "1000000000000002"])
    assert str(exc.value) == says


def test_unknown_and_short_ids_go_to_the_server_whole() -> None:
    assert resolve_id("1234567890123456789", "post") == "1234567890123456789"
    assert resolve_id("12345", "post", seen=["9912345"]) == "12345"


def test_listings_are_kept_per_kind_in_the_home(tmp_path: Path) -> None:
    store = ListedIds(tmp_path)
    store.remember("post", ["1000000000000001", "1000000000000002"])
    store.remember("device", ["2000000000000009"])
    store.remember("post", ["1000000000000003"], listing=False)  # a new post: typeable, unnumbered
    assert store.resolve("post", "#2") == "1000000000000002"
    assert store.resolve("post", "000003") == "1000000000000003"
    assert store.resolve("device", "#1") == "2000000000000009"
    assert (tmp_path / "listed.json").stat().st_mode & 0o077 == 0
    (tmp_path / "listed.json").write_text("{not json")
    with pytest.raises(BadId, match="is not on this device"):
        store.resolve("post", "#1")
