"""The functional forms of the merging layers (``layers.add``, ``layers.concatenate``, ...)."""

from __future__ import annotations

from typing import Any


def _merge(class_name: str, inputs: Any, **kwargs: Any) -> Any:
    from horn.keras import layers

    return getattr(layers, class_name)(**kwargs)(inputs)


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
