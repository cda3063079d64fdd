"""`keras.utils` helpers that need no TensorFlow."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from horn._progress import Progbar


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


_seed: list[int | None] = [None]


def set_random_seed(seed: int) -> None:
    """Make the following jobs reproducible, as `keras.utils.set_random_seed`.

    As in Keras, Python's `random` and NumPy's global generator are seeded here, in
    your process (data drawn with `np.random` afterwards is reproducible). The seed also
    travels with every job (fit, evaluate, predict) this process submits; the worker
    seeds Python, NumPy and the backend with it before it builds the model, so two runs
    with the same seed give the same weights and the same `History`.

    Args:
        seed: a non-negative integer.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError("Expected `seed` argument to be an integer between 0 and 2**32 - 1. "
                         f"Received: seed={seed!r} (of type {type(seed)})")
    _seed[0] = seed
    random.seed(seed)
    np.random.seed(seed)


def current_seed() -> int | None:
    """The seed set by `set_random_seed`, if any."""
    return _seed[0]


def pad_sequences(sequences: Any, maxlen: int | None = None, dtype: str = "int32",
                  padding: str = "pre", truncating: str = "pre", value: Any = 0.0
                  ) -> np.ndarray:
    """Pad sequences to the same length, as `keras.utils.pad_sequences`.

    Args:
        sequences: list of sequences (lists or arrays of values or of equal-shape items).
        maxlen: the length to pad or truncate to; the longest sequence when None.
        dtype: the output dtype.
        padding: `"pre"` or `"post"`: where to pad.
        truncating: `"pre"` or `"post"`: which end to cut from longer sequences.
        value: the padding value.

    Returns:
        An array of shape `(len(sequences), maxlen, ...)`.

    Example:
        >>> pad_sequences([[1, 2], [3]]).tolist()
        [[1, 2], [0, 3]]
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'`padding` must be "pre" or "post". Received: padding={padding}')
    if truncating not in ("pre", "post"):
        raise ValueError('`truncating` must be "pre" or "post". '
                         f"Received: truncating={truncating}")
    seqs = [np.asarray(s) for s in sequences]
    lengths = [len(s) for s in seqs]
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    sample_shape: tuple[int, ...] = ()
    for s in seqs:
        if len(s):
            sample_shape = tuple(s.shape[1:])
            break
    out = np.full((len(seqs), maxlen, *sample_shape), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if tuple(trunc.shape[1:]) != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {i} "
                             f"is different from expected shape {sample_shape}")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """Normalize an array to unit norm along `axis`, as `keras.utils.normalize`."""
    array = np.asarray(x, dtype="float32")
    norm = np.linalg.norm(array, ord=order, axis=axis, keepdims=True)
    norm[norm == 0] = 1
    return np.asarray(array / norm)


__all__ = ["Progbar", "current_seed", "normalize", "pad_sequences", "set_random_seed",
           "to_categorical"]
