"""The benchmark's models and data, written once for both sides.

Each builder takes the Keras namespace to build with: `keras` itself (in the local
process) or `client` (horn's SDK), which mirror each other. Data are synthetic and
seeded, so both sides train on the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SEED = 1234


def mlp(k: Any) -> Any:
    """The issue's MLP: 784 -> 256 -> 128 -> 10."""
    return k.Sequential([k.Input((784,)), k.layers.Dense(256, activation="relu"),
                         k.layers.Dense(128, activation="relu"),
                         k.layers.Dense(10, activation="softmax")])


def convnet(k: Any) -> Any:
    """A small convnet on 28x28x1: two conv/pool blocks and a softmax."""
    return k.Sequential([k.Input((28, 28, 1)),
                         k.layers.Conv2D(16, 3, activation="relu"),
                         k.layers.MaxPooling2D(),
                         k.layers.Conv2D(32, 3, activation="relu"),
                         k.layers.MaxPooling2D(),
                         k.layers.Flatten(),
                         k.layers.Dense(10, activation="softmax")])


def tiny(k: Any) -> Any:
    """A tiny MLP for latency figures: 784 -> 16 -> 10."""
    return k.Sequential([k.Input((784,)), k.layers.Dense(16, activation="relu"),
                         k.layers.Dense(10, activation="softmax")])


def narrow(k: Any) -> Any:
    """8 features -> 10 outputs: a predict whose output is much larger than its input."""
    return k.Sequential([k.Input((8,)), k.layers.Dense(10, activation="softmax")])


BUILDERS: dict[str, Callable[[Any], Any]] = {
    "mlp": mlp, "convnet": convnet, "tiny": tiny, "narrow": narrow}

INPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "mlp": (784,), "convnet": (28, 28, 1), "tiny": (784,), "narrow": (8,)}


def build(k: Any, name: str, seed: int | None = None) -> Any:
    """Build and compile model `name` with namespace `k`.

    With `seed`, as after `keras.utils.set_random_seed(seed)` (the training figure:
    same seed both ways). Without, unseeded, the common case: horn's SDK keeps the
    seed for every later job (and a worker builds seeded jobs afresh, never from its
    warm model), so the SDK's seed is cleared here; the SDK has no public way to.
    """
    if seed is not None:
        k.utils.set_random_seed(seed)
    elif k.__name__ == "client":
        k.utils._seed[0] = None
    model = BUILDERS[name](k)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data(name: str, samples: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """`samples` float32 inputs for model `name` and int64 labels in 0..9."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, *INPUT_SHAPES[name]), dtype=np.float32)
    y = rng.integers(0, 10, size=samples, dtype=np.int64)
    return x, y
