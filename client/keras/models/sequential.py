"""`keras.Sequential`: a linear stack of layers."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from horn import _mirror
from horn._tensors import KerasTensor
from horn.keras.models.model import Model
from horn.keras.models.saving import deserialize_layer

_DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy",
                 "config": {"name": "float32"}, "registered_name": None}


class Sequential(Model):
    """A linear stack of layers, as `keras.Sequential`.

    Args:
        layers: optional list of layers (and/or a leading `keras.Input`).
        trainable: whether the model's weights are trained.
        name: the model's name.

    Example:
        >>> from horn import keras
        >>> from horn.keras import layers
        >>> model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
        >>> [layer.name.startswith("dense") for layer in model.layers]
        [True]
    """

    def __init__(self, layers: Iterable[Any] | None = None, trainable: bool = True,
                 name: str | None = None) -> None:
        super().__init__(name=name or _mirror.auto_name("sequential"), trainable=trainable)
        self._layers: list[Any] = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Any]:
        """The model's layers (its `InputLayer` excluded, as in Keras)."""
        return [layer for layer in self._layers if not _is_input_layer(layer)]

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Add a layer (or a `keras.Input`) on top of the stack."""
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Model) and not (
                isinstance(layer, _mirror.KerasObject) and layer._category == "layers"):
            raise ValueError("Only instances of `keras.Layer` can be added to a Sequential "
                             f"model. Received: {layer!r} (of type {type(layer)})")
        is_input = _is_input_layer(layer)
        if is_input and self._layers and _is_input_layer(self._layers[0]):
            raise ValueError(f"Sequential model '{self.name}' has already been configured "
                             f"to use input shape {self._input_shape()}. You cannot add a "
                             "different Input layer to it.")
        if is_input and self._layers:
            raise ValueError("An `Input` (InputLayer) can only be the first layer of a "
                             "Sequential model.")
        names = {getattr(existing, "name", None) for existing in self._layers}
        if layer.name in names:
            raise ValueError(f"All layers added to a Sequential model should have unique "
                             f"names. Name '{layer.name}' is already the name of a layer in "
                             "this model. Update the `name` argument to pass a unique name.")
        self._layers.append(layer)

    def pop(self, rebuild: bool = True) -> Any:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        return self._layers.pop()

    def _input_shape(self) -> list[int | None] | None:
        if self._layers and _is_input_layer(self._layers[0]):
            return list(self._layers[0].get_config()["batch_shape"])
        return None

    def get_config(self) -> dict[str, Any]:
        """The model's config in Keras's format (`name`, `trainable`, `dtype`, `layers`)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": copy.deepcopy(_DTYPE_POLICY),
                                  "layers": [layer._serialize() for layer in self._layers]}
        shape = self._input_shape()
        if shape is not None:
            config["build_input_shape"] = shape
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild a Sequential model from `get_config()` output."""

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config.get("layers", []):
            model.add(deserialize_layer(entry))
        return model

    def _spec(self) -> dict[str, Any]:
        if not self._layers:
            raise ValueError(f"Sequential model {self.name!r} has no layers. Add layers "
                             "with `model.add(...)` before using it.")
        spec: dict[str, Any] = {"module": "keras", "class_name": "Sequential",
                                "config": self.get_config(), "registered_name": None}
        shape = self._input_shape()
        if shape is not None:
            spec["build_config"] = {"input_shape": shape}
        return spec

    def __repr__(self) -> str:
        return f"<Sequential name={self.name}, built={self._input_shape() is not None}>"


def _is_input_layer(layer: Any) -> bool:
    return type(layer).__name__ == "InputLayer"
