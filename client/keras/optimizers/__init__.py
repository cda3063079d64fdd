"""Keras optimizers (``keras.optimizers``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the optimizer runs on the
horn worker. Learning-rate schedules are in `horn.keras.optimizers.schedules`.

Example:
    >>> from horn.keras import optimizers
    >>> optimizers.SGD(learning_rate=0.01, momentum=0.9).momentum
    0.9
"""

from __future__ import annotations

from typing import Any

from horn._bases import Optimizer as Optimizer
from horn._namespace import install_namespace, missing_attribute
from horn.keras.optimizers import schedules as schedules

__all__ = install_namespace("optimizers", globals(), extra=["schedules"])


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "optimizers", name)
