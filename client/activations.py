"""Keras activations (``keras.activations``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from client._objects import build_namespace
from client._objects import deserialize as _deserialize
from client._objects import get as _get
from client._objects import serialize as _serialize

__all__ = sorted(
    [
        *build_namespace("activations", globals()),

        "deserialize",
        "get",
        "serialize",
    ]
)


def serialize(obj: Any) -> Any:
    """Serialize an activation like ``keras.activations.serialize``."""
    return _serialize(obj)


def deserialize(config: Any) -> Any:
    """Rebuild an activation from its name, like ``keras.activations.deserialize``."""
    return _deserialize(config, "activations")


def get(identifier: Any) -> Any:
    """Resolve an activation identifier (name or function), like ``keras.activations.get``."""
    return _get(identifier, "activations")
