"""Keras activations (``keras.activations``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from client._objects import build_namespace, missing_attribute
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


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "activations", name)
