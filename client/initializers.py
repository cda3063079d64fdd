"""Keras initializers (``keras.initializers``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from client._objects import Initializer as Initializer
from client._objects import build_namespace, missing_attribute
from client._objects import deserialize as _deserialize
from client._objects import get as _get
from client._objects import serialize as _serialize

__all__ = sorted(
    [
        *build_namespace("initializers", globals()),
        "Initializer",
        "deserialize",
        "get",
        "serialize",
    ]
)


def serialize(obj: Any) -> Any:
    """Serialize a initializer like ``keras.initializers.serialize``."""
    return _serialize(obj)


def deserialize(config: Any) -> Any:
    """Rebuild a initializer from its serialized form, like ``keras.initializers.deserialize``."""
    return _deserialize(config, "initializers")


def get(identifier: Any) -> Any:
    """Resolve a initializer identifier (name, dict, object), like ``keras.initializers.get``."""
    return _get(identifier, "initializers")


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "initializers", name)
