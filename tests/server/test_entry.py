"""server.entry, the CLI's one way into the server: settings become a ServerConfig or a
refusal that names its flag, and a data-folder command's storage failure is one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.entry import BadSetting, CommandFailed
from server.entry import admin as entry_admin
from server.entry.serve import build_config, check_logging

DEFAULTS: dict[str, Any] = dict(
    host="127.0.0.1", port=0, data=None, db=None, blocks=None, bus=None, tls_cert=None,
    tls_key=None, celebrity_threshold=10_000, post_cache=50_000, presence_online_delay=3.0,
    presence_offline_delay=2.0, max_frame="64KiB", max_text=None, max_post_text=None,
    max_chat_text=None, rate=100.0, burst=200, quota=None, max_file_size=None,
    max_uncommitted="8GiB", max_entries="1000000", send_queue_bytes="1MiB",
    reply_queue_bytes="8MiB", connections_per_address=128, anonymous_per_address=16,
    max_anonymous_frame="64KiB", login_timeout=60.0, login_failures=5,
    registrations_per_hour=10, trusted_proxy=[], metrics_listen=None, registration="invite",
)  # fmt: skip


def config(**changes: Any) -> Any:
    return build_config(**{**DEFAULTS, **changes})


def test_the_defaults_make_a_config(tmp_path: Path) -> None:
    made = config(data=tmp_path, quota="10GiB", max_entries="none", trusted_proxy=["::1"])
    assert made.data_dir == tmp_path
    assert made.limits.quota_bytes == 10 << 30
    assert made.limits.max_entries is None
    assert made.trusted_proxies == frozenset({"::1"})


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"max_frame": "1"}, "--max-frame"),
        ({"max_frame": "lots"}, "--max-frame"),
        ({"quota": "-3GiB"}, "--quota"),
        ({"max_entries": "0"}, "--max-entries"),
        ({"max_entries": "many"}, "--max-entries"),
        ({"trusted_proxy": ["proxy.example.org"]}, "--trusted-proxy"),
        ({"registration": "sometimes"}, "--registration"),
        ({"db": "mysql://db/roost"}, "--db"),
        ({"metrics_listen": "nowhere"}, "--metrics-listen"),
        ({"send_queue_bytes": "2GiB"}, "--send-queue-bytes"),
    ],
)
def test_a_refused_setting_names_its_flag(changes: dict[str, Any], flag: str) -> None:
    with pytest.raises(BadSetting) as refused:
        config(**changes)
    assert refused.value.flag == flag
    assert refused.value.message and "\n" not in refused.value.message


def test_settings_that_go_together_are_one_line_refusals(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed, match="--bus needs --db"):
        config(bus="redis://127.0.0.1:6379/0")
    with pytest.raises(CommandFailed, match="--tls-cert and --tls-key go together"):
        config(tls_cert=tmp_path / "cert.pem")
    with pytest.raises(BadSetting) as refused:
        check_logging("xml", "info")
    assert refused.value.flag == "--log-format"


@given(st.text(max_size=12))
def test_any_max_entries_text_is_a_count_or_a_refusal(text: str) -> None:
    try:
        made = config(max_entries=text)
    except BadSetting as exc:
        assert exc.flag == "--max-entries"
    else:
        assert made.limits.max_entries is None or made.limits.max_entries >= 1


def test_data_folder_commands_fail_in_one_line(tmp_path: Path) -> None:
    notes: list[str] = []
    with pytest.raises(CommandFailed, match=f"no Roost database in {tmp_path}"):
        entry_admin.gc(tmp_path, grace_seconds=60, db=None, blocks=None, note=notes.append)
    with pytest.raises(BadSetting) as refused:
        entry_admin.gc(tmp_path, grace_seconds=60, db="sqlite:///x", blocks=None, note=notes.append)
    assert refused.value.flag == "--db"
    with pytest.raises(CommandFailed):  # nothing to restore from
        entry_admin.restore(
            tmp_path / "data", tmp_path / "no-backup", force=False, blocks_only=False,
            note=notes.append,
        )  # fmt: skip
    assert notes == []
