"""Keras optimizers (``keras.optimizers``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the optimizer runs on the
horn worker. Learning-rate schedules are in `client.optimizers.schedules`.

Example:
    >>> from client import optimizers
    >>> optimizers.SGD(learning_rate=0.01, momentum=0.9).momentum
    0.9
"""

from __future__ import annotations

from typing import Any

from client._objects import Optimizer as Optimizer
from client._objects import build_namespace, missing_attribute
from client._objects import deserialize as _deserialize
from client._objects import get as _get
from client._objects import serialize as _serialize
from client.optimizers import schedules as schedules

__all__ = sorted(
    [
        *build_namespace("optimizers", globals()),
        "Optimizer",
        "deserialize",
        "get",
        "schedules",
        "serialize",
    ]
)


def serialize(optimizer: Any) -> Any:
    """Serialize an optimizer like ``keras.optimizers.serialize``."""
    return _serialize(optimizer)


def deserialize(config: Any) -> Any:
    """Rebuild an optimizer from its serialized dict, like ``keras.optimizers.deserialize``."""
    return _deserialize(config, "optimizers")


def get(identifier: Any) -> Any:
    """Resolve an optimizer identifier (``"adam"``, a dict, an object), like Keras."""
    return _get(identifier, "optimizers")


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "optimizers", name)
