"""Keras metrics (``keras.metrics``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from client._objects import Metric as Metric
from client._objects import build_namespace, missing_attribute
from client._objects import deserialize as _deserialize
from client._objects import get as _get
from client._objects import serialize as _serialize

__all__ = sorted(
    [
        *build_namespace("metrics", globals()),
        "Metric",
        "deserialize",
        "get",
        "serialize",
    ]
)


def serialize(obj: Any) -> Any:
    """Serialize a metric like ``keras.metrics.serialize``."""
    return _serialize(obj)


def deserialize(config: Any) -> Any:
    """Rebuild a metric from its serialized form, like ``keras.metrics.deserialize``."""
    return _deserialize(config, "metrics")


def get(identifier: Any) -> Any:
    """Resolve a metric identifier (name, dict, object), like ``keras.metrics.get``."""
    return _get(identifier, "metrics")


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "metrics", name)
