"""Learning-rate schedules (``keras.optimizers.schedules``), built from the horn catalog.

Pass one as an optimizer's ``learning_rate``; it runs on the horn worker.

Example:
    >>> from client.optimizers import schedules
    >>> schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9).decay_rate
    0.9
"""

from __future__ import annotations

from typing import Any

from client._objects import LearningRateSchedule as LearningRateSchedule
from client._objects import build_namespace, missing_attribute
from client._objects import deserialize as _deserialize
from client._objects import serialize as _serialize

__all__ = sorted(
    [
        *build_namespace("schedules", globals()),
        "LearningRateSchedule",
        "deserialize",
        "serialize",
    ]
)


def serialize(learning_rate_schedule: Any) -> Any:
    """Serialize a schedule like ``keras.optimizers.schedules.serialize``."""
    return _serialize(learning_rate_schedule)


def deserialize(config: Any) -> Any:
    """Rebuild a schedule from its serialized dict, like Keras."""
    return _deserialize(config, "schedules")


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "schedules", name)
