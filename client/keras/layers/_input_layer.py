"""The base of ``horn.keras.layers.InputLayer``: Keras's own shape rules and config."""

from __future__ import annotations

from typing import Any

from horn._mirror.bases import Layer


class InputLayerBase(Layer):
    """``keras.layers.InputLayer``: its config is Keras's (``batch_shape``, not ``shape``).

    The generated ``InputLayer`` subclasses it: Keras's InputLayer takes ``shape`` and
    ``batch_size`` and writes ``batch_shape``.
    """

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
