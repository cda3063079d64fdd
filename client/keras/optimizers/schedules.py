"""Learning-rate schedules (``keras.optimizers.schedules``), built from the horn catalog.

Pass one as an optimizer's ``learning_rate``; it runs on the horn worker.

Example:
    >>> from horn.keras.optimizers import schedules
    >>> schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9).decay_rate
    0.9
"""

from __future__ import annotations

from typing import Any

from horn._bases import LearningRateSchedule as LearningRateSchedule
from horn._namespace import install_namespace, missing_attribute

__all__ = install_namespace("schedules", globals())


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "schedules", name)
