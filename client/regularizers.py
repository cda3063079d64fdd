"""Keras regularizers (``keras.regularizers``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from client._objects import Regularizer as Regularizer
from client._objects import build_namespace, missing_attribute
from client._objects import deserialize as _deserialize
from client._objects import get as _get
from client._objects import serialize as _serialize

__all__ = sorted(
    [
        *build_namespace("regularizers", globals()),
        "Regularizer",
        "deserialize",
        "get",
        "serialize",
    ]
)


def serialize(obj: Any) -> Any:
    """Serialize a regularizer like ``keras.regularizers.serialize``."""
    return _serialize(obj)


def deserialize(config: Any) -> Any:
    """Rebuild a regularizer from its serialized form, like ``keras.regularizers.deserialize``."""
    return _deserialize(config, "regularizers")


def get(identifier: Any) -> Any:
    """Resolve a regularizer identifier (name, dict, object), like ``keras.regularizers.get``."""
    return _get(identifier, "regularizers")


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "regularizers", name)
