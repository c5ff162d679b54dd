"""The server address parser: every form people type, and one line for what it cannot read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.server_url import DEFAULT_PORT, BadServerUrl, server_url

hosts = st.one_of(
    st.from_regex(r"\A[a-z]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z][a-z0-9]{0,10}){0,3}\Z"),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
ports = st.integers(min_value=1, max_value=65535)


@given(hosts, ports)
def test_each_form_names_the_websocket_scheme_it_means(host: str, port: int) -> None:
    assert server_url(f"ws://{host}:{port}") == f"ws://{host}:{port}"
    assert server_url(f"wss://{host}:{port}") == f"wss://{host}:{port}"
    assert server_url(f"http://{host}:{port}") == f"ws://{host}:{port}"
    assert server_url(f"HTTPS://{host}:{port}/") == f"wss://{host}:{port}"
    assert server_url(f"{host}:{port}") == f"ws://{host}:{port}"
    assert server_url(f"  {host}  ") == f"ws://{host}:{DEFAULT_PORT}"


@given(st.text(max_size=40))
def test_anything_typed_is_a_websocket_url_or_one_line_refusal(text: str) -> None:
    try:
        url = server_url(text)
    except BadServerUrl as exc:
        assert "\n" not in str(exc)
        return
    assert url.startswith(("ws://", "wss://"))
    assert server_url(url) == url  # what it answers reads back the same


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "no server address given"),
        ("ftp://host:21", "ftp:// is not served"),
        ("host:99999", "the port must be 1-65535"),
        ("ws://host:0", "the port must be 1-65535"),
        ("ws://", "no host name"),
        ("http://me@host:1", "leave out the user name"),
        ("ws://host:1?x=1", "only a host, a port and a path"),
        ("ws://ho st", "spaces or control characters"),
    ],
)
def test_bad_addresses_say_what_is_wrong(typed: str, says: str) -> None:
    with pytest.raises(BadServerUrl, match=says):
        server_url(typed)


def test_a_path_behind_a_proxy_is_kept() -> None:
    assert server_url("https://example.org/roost/") == "wss://example.org/roost"
