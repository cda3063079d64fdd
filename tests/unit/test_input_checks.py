"""Layer calls on symbolic tensors fail on the client as they fail in Keras: same
exception type, same message (layer names aside)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from horn import keras as horn_keras

keras = pytest.importorskip("keras")


def _mistakes(k: Any) -> dict[str, Callable[[], Any]]:
    """The same mistakes, written against `k` (plain Keras or horn's client)."""
    layers = k.layers
    return {
        "dense on two inputs": lambda: layers.Dense(2, name="d")([k.Input((4,)),
                                                                  k.Input((4,))]),
        "conv2d on a vector": lambda: layers.Conv2D(2, 3, name="c")(k.Input((8,))),
        "lstm on 2-d input": lambda: layers.LSTM(3, name="l")(k.Input((8,))),
        "dense on a scalar per sample": lambda: layers.Dense(2, name="d")(k.Input(())),
        "repeat vector on 3-d input": lambda: layers.RepeatVector(2, name="r")(
            k.Input((4, 3))),
        "concatenate mismatched": lambda: layers.Concatenate(axis=1, name="cc")(
            [k.Input((4, 3)), k.Input((5, 2))]),
        "concatenate different ranks": lambda: layers.concatenate(
            [k.Input((4, 3)), k.Input((4,))]),
        "add incompatible": lambda: layers.Add(name="a")([k.Input((4,)), k.Input((5,))]),
        "multiply not a list": lambda: layers.Multiply(name="m")(k.Input((4,))),
        "model inputs not tensors": lambda: k.Model(inputs=[1], outputs=[2]),
        "unknown keyword": lambda: layers.Dense(3, activaton="relu"),
    }


def _normalized(message: str) -> str:
    message = re.sub(r"<KerasTensor[^>]*>", "<KerasTensor>", message)
    return re.sub(r"(input_layer|keras_tensor)_\d+", r"\1", message)


@pytest.mark.parametrize("case", sorted(_mistakes(keras)))
def test_same_error_as_keras(case: str) -> None:
    with pytest.raises(Exception) as expected:  # noqa: PT011 - whatever Keras raises
        _mistakes(keras)[case]()
    with pytest.raises(type(expected.value)) as got:
        _mistakes(horn_keras)[case]()
    assert _normalized(str(got.value)).startswith(_normalized(str(expected.value)))


def test_broadcastable_merges_and_their_shapes() -> None:
    a, b = horn_keras.Input((4, 1)), horn_keras.Input((4, 6))
    assert horn_keras.layers.Add()([a, b]).shape == (None, 4, 6)
    joined = horn_keras.layers.Concatenate(axis=1)([horn_keras.Input((4, 6)),
                                                    horn_keras.Input((2, 6))])
    assert joined.shape == (None, 6, 6)
