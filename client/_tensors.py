"""Symbolic tensors: what `keras.Input(...)` returns on the client."""

from __future__ import annotations

from typing import Any


class KerasTensor:
    """A symbolic tensor: a shape and dtype, and the layer that produced it.

    Returned by `keras.Input`; adding it to a `Sequential` model adds its `InputLayer`.
    """

    def __init__(self, shape: tuple[int | None, ...], dtype: str, name: str,
                 layer: Any) -> None:
        self.shape = shape
        self.dtype = dtype
        self.name = name
        self._keras_history = (layer, 0, 0)

    @property
    def ndim(self) -> int:
        """Number of dimensions, the batch dimension included."""
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"
