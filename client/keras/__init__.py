"""Keras 3's API (``keras``), with the training done on a horn server.

Every name here is Keras's own, with Keras's arguments and defaults; horn's own names
(`connect`, `jobs`, `errors`) are in the `horn` package.
"""

from horn.keras import (
    activations,
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    utils,
)
from horn.keras.models import Model, Sequential
from horn.keras.models.functional import Input

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "activations",
    "callbacks",
    "constraints",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "utils",
]
