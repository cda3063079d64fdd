"""`keras.utils` helpers that need no TensorFlow."""

from __future__ import annotations

from typing import Any

import numpy as np

from client._progress import Progbar


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """Convert integer class labels to a one-hot matrix, as `keras.utils.to_categorical`.

    Args:
        x: array of class indices (0 to `num_classes - 1`).
        num_classes: number of classes; `max(x) + 1` when omitted.

    Returns:
        A float32 array of shape `x.shape + (num_classes,)` (a trailing axis of size 1
        in `x` is dropped first, as Keras does).

    Example:
        >>> to_categorical([0, 2], num_classes=3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    labels = np.asarray(x, dtype="int64")
    shape = labels.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Expected class indices in [0, {num_classes}). Received values "
                         f"from {labels.min()} to {labels.max()}.")
    out = np.zeros((labels.size, num_classes), dtype="float32")
    out[np.arange(labels.size), labels] = 1.0
    return out.reshape((*shape, num_classes))


__all__ = ["Progbar", "to_categorical"]
