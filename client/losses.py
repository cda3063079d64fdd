"""Keras losses (``keras.losses``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from client._objects import Loss as Loss
from client._objects import build_namespace, missing_attribute
from client._objects import deserialize as _deserialize
from client._objects import get as _get
from client._objects import serialize as _serialize

__all__ = sorted(
    [
        *build_namespace("losses", globals()),
        "Loss",
        "deserialize",
        "get",
        "serialize",
    ]
)


def serialize(obj: Any) -> Any:
    """Serialize a loss like ``keras.losses.serialize``."""
    return _serialize(obj)


def deserialize(config: Any) -> Any:
    """Rebuild a loss from its serialized form, like ``keras.losses.deserialize``."""
    return _deserialize(config, "losses")


def get(identifier: Any) -> Any:
    """Resolve a loss identifier (name, dict, object), like ``keras.losses.get``."""
    return _get(identifier, "losses")


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "losses", name)
