"""Catalog-driven mirrors of Keras objects (layers, optimizers, losses, ...), no Keras needed.

Every class in ``horn.keras.layers``, ``horn.keras.optimizers``, ... is a static class
generated from the Keras catalog (``schemas/keras_catalog.json``) by `codegen`: it
takes exactly the arguments the Keras class takes, fails with Keras's words when they
are wrong, and serializes to the JSON Keras itself writes, which the horn worker
rebuilds with real Keras.

This package gathers the object model's public names in one place; the code is in

* ``naming``: Keras's snake case and automatic names (`auto_name`);
* ``arguments``: binding constructor arguments (`UnknownArgumentError`);
* ``objects``: `KerasObject`, `KerasFunction`, and value conversion;
* ``bases``: the category bases (`Layer`, `Optimizer`, ...);
* ``classes``: binding generated classes to the catalog (`mirror`), `lookup`;
* ``namespace``: `serialize`, `deserialize`, `get`, `missing_attribute`;
* ``codegen``: writing the static ``horn.keras`` modules (``make catalog``).

Example:
    >>> from horn.keras import layers
    >>> layers.Dense(3, activation="relu")._serialize()["class_name"]
    'Dense'
"""

from __future__ import annotations

from horn._mirror.arguments import UnknownArgumentError
from horn._mirror.bases import (
    Constraint,
    Initializer,
    Layer,
    LearningRateSchedule,
    Loss,
    Metric,
    Optimizer,
    Regularizer,
    RemoteCallback,
    register_layer_call,
)
from horn._mirror.classes import ForbiddenObjectError, lookup
from horn._mirror.namespace import deserialize, get, missing_attribute, serialize
from horn._mirror.naming import auto_name, reset_names, to_snake_case
from horn._mirror.objects import KerasFunction, KerasObject

__all__ = [
    "Constraint",
    "ForbiddenObjectError",
    "Initializer",
    "KerasFunction",
    "KerasObject",
    "Layer",
    "LearningRateSchedule",
    "Loss",
    "Metric",
    "Optimizer",
    "Regularizer",
    "RemoteCallback",
    "UnknownArgumentError",
    "auto_name",
    "deserialize",
    "get",
    "lookup",
    "missing_attribute",
    "register_layer_call",
    "reset_names",
    "serialize",
    "to_snake_case",
]

#: The former name of `lookup` (the unit tests use it).
_lookup = lookup
