"""The client address behind a trusted proxy, the per-address key, and the connection caps."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from server.addresses import ConnectionCaps, address_key, client_address

PROXY = "10.0.0.1"
TRUSTED = frozenset({PROXY, "10.0.0.2"})
any_header = st.one_of(st.none(), st.text(max_size=200))
ipv4 = st.ip_addresses(v=4).map(str)


def test_a_trusted_proxy_names_the_client() -> None:
    assert client_address(PROXY, "203.0.113.5", TRUSTED) == "203.0.113.5"
    # The nearest hop that is not a proxy of ours: what a client wrote at the left is ignored.
    assert client_address(PROXY, "1.2.3.4, 203.0.113.5", TRUSTED) == "203.0.113.5"
    assert client_address(PROXY, "203.0.113.5, 10.0.0.2", TRUSTED) == "203.0.113.5"
    assert client_address(PROXY, " 2001:db8::1 ", TRUSTED) == "2001:db8::1"


def test_a_garbled_or_empty_header_leaves_the_proxy_address() -> None:
    assert client_address(PROXY, "", TRUSTED) == PROXY
    assert client_address(PROXY, "1.2.3.4, not-an-address", TRUSTED) == PROXY
    assert client_address(PROXY, "10.0.0.2", TRUSTED) == PROXY  # only proxies: no client named


@given(ipv4, any_header)
def test_an_untrusted_peer_cannot_say_whom_it_speaks_for(peer: str, header: str | None) -> None:
    assert client_address(peer, header, frozenset()) == peer
    if peer not in TRUSTED:
        assert client_address(peer, header, TRUSTED) == peer


@given(any_header)
def test_whatever_a_proxy_forwards_the_answer_is_an_address(header: str | None) -> None:
    ipaddress.ip_address(client_address(PROXY, header, TRUSTED))


def test_ipv6_addresses_are_counted_by_their_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("") == ""


def test_caps_count_connections_and_give_them_back() -> None:
    caps = ConnectionCaps(per_address=3, anonymous_per_address=2)
    assert caps.admit("a", anonymous=True) is None
    assert caps.admit("a", anonymous=True) is None
    refused = caps.admit("a", anonymous=True)
    assert refused is not None and "not logged in (at most 2)" in refused
    assert caps.admit("a", anonymous=False) is None  # a device still gets in
    refused = caps.admit("a", anonymous=False)
    assert refused is not None and "(at most 3)" in refused
    assert caps.admit("b", anonymous=True) is None  # another address is counted apart
    caps.release("a", anonymous=True)
    assert caps.admit("a", anonymous=True) is None
    for anonymous in (True, True, False):
        caps.release("a", anonymous=anonymous)
    caps.release("b", anonymous=True)
    assert len(caps) == 0  # nothing is kept for addresses with nothing open


def test_zero_means_no_cap() -> None:
    caps = ConnectionCaps(per_address=0, anonymous_per_address=0)
    assert all(caps.admit("a", anonymous=True) is None for _ in range(10_000))
