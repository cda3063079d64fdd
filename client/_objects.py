"""Catalog-driven mirrors of Keras objects (layers, optimizers, losses, ...), no Keras needed.

Every class in ``horn.keras.layers``, ``horn.keras.optimizers``, ... is generated from the
Keras catalog (``schemas/keras_catalog.json``): it takes exactly the arguments the
Keras class takes, fails with Keras's words when they are wrong, and serializes to the
JSON Keras itself writes, which the horn worker rebuilds with real Keras.

This module gathers the object model's public names in one place; the code is in

* ``horn._naming``: Keras's snake case and automatic names (`auto_name`);
* ``horn._arguments``: binding constructor arguments (`UnknownArgumentError`);
* ``horn._mirrors``: `KerasObject`, `KerasFunction`, and value conversion;
* ``horn._bases``: the category bases (`Layer`, `Optimizer`, ...);
* ``horn._catalog_classes``: generating the classes (`build_namespace`);
* ``horn._namespace``: `serialize`, `deserialize`, `get`, `install_namespace`.

Example:
    >>> from horn.keras import layers
    >>> layers.Dense(3, activation="relu")._serialize()["class_name"]
    'Dense'
"""

from __future__ import annotations

from horn._arguments import UnknownArgumentError
from horn._bases import (
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
from horn._catalog_classes import ForbiddenObjectError, build_namespace, lookup
from horn._mirrors import KerasFunction, KerasObject
from horn._namespace import deserialize, get, install_namespace, missing_attribute, serialize
from horn._naming import auto_name, reset_names, to_snake_case

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
    "build_namespace",
    "deserialize",
    "get",
    "install_namespace",
    "lookup",
    "missing_attribute",
    "register_layer_call",
    "reset_names",
    "serialize",
    "to_snake_case",
]

#: The former name of `lookup` (the unit tests use it).
_lookup = lookup
