"""The binary frame of a manual-batch call and its answer, shared by the SDK (the
session's websocket), the server and the worker (the Redis relay): a 4-byte big-endian
header length, a JSON object, then raw bytes (a batch's or the outputs' `.npz`, or a
file)."""

from __future__ import annotations

import json
import struct
from typing import Any

STREAM_OPS = frozenset({"train", "test", "predict"})
"""The calls a session's websocket carries (a `train_on_batch` loop's); the rest go by
POST."""


def pack(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """A frame: header length, JSON header, payload."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack(">I", len(head)) + head + payload


def unpack(frame: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and payload of a frame.

    Raises:
        ValueError: the bytes are not a frame (`json.JSONDecodeError` and
            `UnicodeDecodeError` are `ValueError`s too).
    """
    if len(frame) < 4:
        raise ValueError("truncated frame")
    (size,) = struct.unpack(">I", frame[:4])
    if len(frame) < 4 + size:
        raise ValueError("truncated frame header")
    header = json.loads(frame[4:4 + size])
    if not isinstance(header, dict):
        raise ValueError("the frame's header is not a JSON object")
    return header, frame[4 + size:]
