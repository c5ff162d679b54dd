"""The terminal app's settings file, without Textual: read, written, damaged."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from client.home import ClientHome
from client.settings import Settings, load_settings, save_settings, settings_path, unknown_keys


def test_missing_settings_are_the_defaults(tmp_path: Path) -> None:
    assert load_settings(ClientHome(tmp_path)) == (Settings(), None)


def test_settings_are_saved_and_read_back(tmp_path: Path) -> None:
    home = ClientHome(tmp_path)
    save_settings(home, Settings(theme="textual-light", keys={"messages": "ctrl+g"}))
    assert load_settings(home) == (Settings("textual-light", {"messages": "ctrl+g"}), None)
    assert not settings_path(home).with_name("settings.json.tmp").exists()


def test_a_damaged_file_gives_the_defaults_and_one_line_naming_it(tmp_path: Path) -> None:
    home = ClientHome(tmp_path)
    settings_path(home).write_text('{"theme": 3}')
    settings, warning = load_settings(home)
    assert settings == Settings()
    assert warning is not None and "settings.json is not valid" in warning
    assert "\n" not in warning


def test_a_huge_file_is_not_read(tmp_path: Path) -> None:
    home = ClientHome(tmp_path)
    settings_path(home).write_text(" " * 100_000)
    settings, warning = load_settings(home)
    assert settings == Settings() and warning is not None and "too large" in warning


def test_key_choices_for_no_binding_are_named() -> None:
    chosen = Settings(keys={"messages": "ctrl+g", "mesages": "x"})
    assert unknown_keys(chosen, {"messages", "home"}) == ["mesages"]


@given(st.binary(max_size=200))
def test_any_file_content_reads_without_raising(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        home = ClientHome(Path(folder))
        settings_path(home).write_bytes(data)
        settings, warning = load_settings(home)
        assert isinstance(settings, Settings)
        assert warning is None or "settings.json" in warning
