"""Keras layers (``keras.layers``), built from the horn catalog.

Every built-in Keras layer is here with the arguments of the installed Keras; the
layer runs on the horn worker. ``Lambda``, ``TFSMLayer``, ``TorchModuleWrapper``,
``JaxLayer`` and ``FlaxLayer`` exist but refuse construction: they would run
client code on the server.

Example:
    >>> from horn.keras import layers
    >>> layers.Dense(64, activation="relu").units
    64
"""

from __future__ import annotations

from typing import Any

from horn._bases import Layer as Layer
from horn._namespace import install_namespace, missing_attribute


class _InputLayerBase(Layer):
    """``keras.layers.InputLayer``: its config is Keras's (``batch_shape``, not ``shape``)."""

    def _post_init(self) -> None:
        values = self._horn_values
        for old, new in (("input_shape", "shape"), ("batch_input_shape", "batch_shape")):
            if old in values:
                values[new] = values.pop(old)
        if values.get("input_tensor") is not None:
            raise ValueError("`input_tensor` is not supported on horn; pass `shape` instead.")
        values.pop("input_tensor", None)
        shape, batch_shape = values.pop("shape", None), values.get("batch_shape")
        batch_size = values.pop("batch_size", None)
        if shape is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        if batch_size is not None and batch_shape is not None:
            raise ValueError(
                "You cannot pass both `batch_size` and `batch_shape` at the same time."
            )
        if shape is None and batch_shape is None:
            raise ValueError("You must pass a `shape` argument.")
        if shape is not None:
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        values["batch_shape"] = tuple(batch_shape or ())
        super()._post_init()

    def get_config(self) -> dict[str, Any]:
        """The config Keras writes for an InputLayer."""
        values = self._horn_values
        return {
            "batch_shape": values["batch_shape"],
            "dtype": values.get("dtype") or "float32",
            "sparse": bool(values.get("sparse")),
            "ragged": bool(values.get("ragged")),
            "name": self.name,
            "optional": bool(values.get("optional", False)),
        }


__all__ = install_namespace("layers", globals(), overrides={"InputLayer": _InputLayerBase})


def _merge(class_name: str, inputs: Any, **kwargs: Any) -> Any:
    return globals()[class_name](**kwargs)(inputs)


def concatenate(inputs: Any, axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of `Concatenate`: `layers.concatenate([a, b], axis=-1)`."""
    return _merge("Concatenate", inputs, axis=axis, **kwargs)


def add(inputs: Any, **kwargs: Any) -> Any:
    """Functional form of `Add`."""
    return _merge("Add", inputs, **kwargs)


def subtract(inputs: Any, **kwargs: Any) -> Any:
    """Functional form of `Subtract` (exactly two inputs)."""
    return _merge("Subtract", inputs, **kwargs)


def multiply(inputs: Any, **kwargs: Any) -> Any:
    """Functional form of `Multiply`."""
    return _merge("Multiply", inputs, **kwargs)


def average(inputs: Any, **kwargs: Any) -> Any:
    """Functional form of `Average`."""
    return _merge("Average", inputs, **kwargs)


def maximum(inputs: Any, **kwargs: Any) -> Any:
    """Functional form of `Maximum`."""
    return _merge("Maximum", inputs, **kwargs)


def minimum(inputs: Any, **kwargs: Any) -> Any:
    """Functional form of `Minimum`."""
    return _merge("Minimum", inputs, **kwargs)


def dot(inputs: Any, axes: Any = -1, normalize: bool = False, **kwargs: Any) -> Any:
    """Functional form of `Dot`."""
    return _merge("Dot", inputs, axes=axes, normalize=normalize, **kwargs)


__all__ = sorted([*__all__, "Input", "add", "average", "concatenate", "dot", "maximum",
                  "minimum", "multiply", "subtract"])


def __getattr__(name: str) -> Any:
    """`layers.Input` is `keras.Input`, as in Keras; generated names are set at import,
    and anything else is a misspelling."""
    if name == "Input":
        from horn.keras.models import Input

        return Input
    raise missing_attribute(__name__, "layers", name)
