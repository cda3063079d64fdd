"""The Redis relay's frames for manual-batch calls."""

from __future__ import annotations

import pytest

from horn.server.store import relay


def test_frames_round_trip_header_and_bytes() -> None:
    token, frame = relay.new_call("train", {"class_weight": {"0": 2.0}}, b"\x00PK\x03\x04")
    header, payload = relay.unpack(frame)
    assert header == {"token": token, "op": "train", "args": {"class_weight": {"0": 2.0}}}
    assert payload == b"\x00PK\x03\x04"
    assert relay.unpack(relay.pack({"status": "done"})) == ({"status": "done"}, b"")


@pytest.mark.parametrize("frame", [b"", b"\x00\x00", b"\x00\x00\x00\x09{}", b"\x00\x00\x00\x02[]"])
def test_malformed_frames_are_refused(frame: bytes) -> None:
    with pytest.raises(ValueError):
        relay.unpack(frame)


def test_only_redis_brokers_relay() -> None:
    assert relay.uses_redis("redis://127.0.0.1:6379/0")
    assert relay.uses_redis("rediss://cache:6380/1")
    assert not relay.uses_redis("filesystem://localhost//")
    assert not relay.uses_redis("amqp://guest@localhost//")
