"""Blocks travel raw to a nearby server (its link is faster than compressing) and compressed
to a far one; ROOST_SYNC_COMPRESS overrides it."""

from __future__ import annotations

import random

import pytest

from client.sync.wire_codec import compress_blocks, nearby
from protocol.files import Codec
from storage.content.blocks import decode_block, encode_block


@pytest.mark.parametrize(
    ("url", "near"),
    [
        ("ws://127.0.0.1:8765", True),
        ("ws://localhost:8765", True),
        ("ws://[::1]:8765", True),
        ("wss://192.168.1.20:443", True),
        ("ws://10.0.0.7:8765", True),
        ("ws://169.254.3.4:80", True),
        ("wss://roost.example.org", False),
        ("wss://100.101.102.103:8765", False),  # a VPN's shared addresses cross the internet
        ("wss://8.8.8.8", False),
        ("not a url", False),
    ],
)
def test_a_server_is_near_by_its_address(url: str, near: bool) -> None:
    assert nearby(url) is near


def test_the_setting_overrides_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_SYNC_COMPRESS", "always")
    assert compress_blocks("ws://127.0.0.1:1")
    monkeypatch.setenv("ROOST_SYNC_COMPRESS", "never")
    assert not compress_blocks("wss://roost.example.org")
    monkeypatch.setenv("ROOST_SYNC_COMPRESS", "sometimes")  # unknown: as auto
    assert compress_blocks("wss://roost.example.org")
    assert not compress_blocks("ws://127.0.0.1:1")


def test_a_block_sent_raw_is_the_same_bytes_and_text_far_away_is_compressed() -> None:
    text = (" ".join(random.Random(1).choices(["sync", "block", "roost"], k=200_000))).encode()
    codec, payload = encode_block(text, compress=False)
    assert codec == Codec.RAW and payload == text
    codec, payload = encode_block(text)
    assert codec == Codec.ZSTD and len(payload) < len(text) // 2
    assert decode_block(codec, payload) == text
