"""Catalog-driven mirrors of Keras objects (layers, optimizers, losses, ...), no Keras needed.

Every class in ``client.layers``, ``client.optimizers``, ... is generated from the
Keras catalog (``schemas/keras_catalog.json``): it takes exactly the arguments the
Keras class takes, fails with Keras's words when they are wrong, and serializes to the
JSON Keras itself writes, which the horn worker rebuilds with real Keras.

This module gathers the object model's public names in one place; the code is in

* ``client._naming``: Keras's snake case and automatic names (`auto_name`);
* ``client._arguments``: binding constructor arguments (`UnknownArgumentError`);
* ``client._mirrors``: `KerasObject`, `KerasFunction`, and value conversion;
* ``client._bases``: the category bases (`Layer`, `Optimizer`, ...);
* ``client._catalog_classes``: generating the classes (`build_namespace`);
* ``client._namespace``: `serialize`, `deserialize`, `get`, `install_namespace`.

Example:
    >>> from client import layers
    >>> layers.Dense(3, activation="relu")._serialize()["class_name"]
    'Dense'
"""

from __future__ import annotations

from client._arguments import UnknownArgumentError
from client._bases import (
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
from client._catalog_classes import ForbiddenObjectError, build_namespace, lookup
from client._mirrors import KerasFunction, KerasObject
from client._namespace import deserialize, get, install_namespace, missing_attribute, serialize
from client._naming import auto_name, reset_names, to_snake_case

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
