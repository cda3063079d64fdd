"""Keras constraints (``keras.constraints``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from client._objects import Constraint as Constraint
from client._objects import build_namespace, missing_attribute
from client._objects import deserialize as _deserialize
from client._objects import get as _get
from client._objects import serialize as _serialize

__all__ = sorted(
    [
        *build_namespace("constraints", globals()),
        "Constraint",
        "deserialize",
        "get",
        "serialize",
    ]
)


def serialize(obj: Any) -> Any:
    """Serialize a constraint like ``keras.constraints.serialize``."""
    return _serialize(obj)


def deserialize(config: Any) -> Any:
    """Rebuild a constraint from its serialized form, like ``keras.constraints.deserialize``."""
    return _deserialize(config, "constraints")


def get(identifier: Any) -> Any:
    """Resolve a constraint identifier (name, dict, object), like ``keras.constraints.get``."""
    return _get(identifier, "constraints")


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "constraints", name)
