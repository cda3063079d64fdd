"""Symbolic tensors: what `keras.Input(...)` and layer calls return on the client."""

from __future__ import annotations

from typing import Any


class KerasTensor:
    """A symbolic tensor: a shape and dtype, and the layer call that produced it.

    `_keras_history` is `(layer, node_index, tensor_index)`, as in Keras. `+`, `-` and `*`
    between symbolic tensors build `Add`, `Subtract` and `Multiply` layers.
    """

    def __init__(self, shape: tuple[int | None, ...], dtype: str, name: str, layer: Any,
                 node_index: int = 0, tensor_index: int = 0) -> None:
        self.shape = shape
        self.dtype = dtype
        self.name = name
        self._keras_history = (layer, node_index, tensor_index)

    @property
    def ndim(self) -> int:
        """Number of dimensions, the batch dimension included."""
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _merge(self, other: Any, layer_name: str, swap: bool = False) -> KerasTensor:
        if not isinstance(other, KerasTensor):
            raise TypeError(
                f"horn builds `{layer_name}` layers for operators between symbolic tensors; "
                f"received a {type(other).__name__}. Use a layer (e.g. "
                "`layers.Rescaling`) for arithmetic with constants.")
        from horn.keras import layers

        pair = [other, self] if swap else [self, other]
        result: KerasTensor = getattr(layers, layer_name)()(pair)
        return result

    def __add__(self, other: Any) -> KerasTensor:
        return self._merge(other, "Add")

    def __radd__(self, other: Any) -> KerasTensor:
        return self._merge(other, "Add", swap=True)

    def __sub__(self, other: Any) -> KerasTensor:
        return self._merge(other, "Subtract")

    def __rsub__(self, other: Any) -> KerasTensor:
        return self._merge(other, "Subtract", swap=True)

    def __mul__(self, other: Any) -> KerasTensor:
        return self._merge(other, "Multiply")

    def __rmul__(self, other: Any) -> KerasTensor:
        return self._merge(other, "Multiply", swap=True)
