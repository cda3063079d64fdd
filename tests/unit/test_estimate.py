"""`horn.schemas.estimate` counts the parameters Keras counts, from the JSON alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from horn.schemas.estimate import estimate_model


@pytest.fixture(scope="module")
def keras() -> Any:
    return pytest.importorskip("keras")


def _models(keras: Any) -> list[Any]:
    L = keras.layers
    return [
        keras.Sequential([keras.Input((784,)), L.Dense(64, activation="relu"), L.Dropout(0.2),
                          L.Dense(10, use_bias=False)]),
        keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(8, 3, padding="same"),
                          L.BatchNormalization(), L.MaxPooling2D(), L.Conv2D(16, (3, 3),
                          strides=2), L.SeparableConv2D(4, 3), L.DepthwiseConv2D(3),
                          L.GlobalAveragePooling2D(), L.Dense(3)]),
        keras.Sequential([keras.Input((20,)), L.Embedding(1000, 16), L.LSTM(8,
                          return_sequences=True), L.GRU(4), L.Dense(1)]),
        keras.Sequential([keras.Input((10, 3)), L.Bidirectional(L.SimpleRNN(5)),
                          L.LayerNormalization(), L.Reshape((5, 2)), L.Conv1D(3, 2),
                          L.Flatten(), L.Dense(2)]),
    ]


def test_sequential_estimates_match_keras(keras: Any) -> None:
    for model in _models(keras):
        spec = json.loads(model.to_json())
        estimate = estimate_model(spec)
        assert estimate.skipped == [], spec["config"]["layers"]
        assert estimate.params == model.count_params()


def test_functional_uses_build_configs(keras: Any) -> None:
    inputs = keras.Input((8,))
    a = keras.layers.Dense(4)(inputs)
    b = keras.layers.Dense(4)(inputs)
    out = keras.layers.Dense(2)(keras.layers.Concatenate()([a, b]))
    model = keras.Model(inputs, out)
    assert estimate_model(json.loads(model.to_json())).params == model.count_params()


def test_unknown_layers_are_skipped_not_fatal() -> None:
    spec = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 8]}},
        {"class_name": "Dense", "config": {"units": 4, "name": "d1"}},
        {"class_name": "SomethingNew", "config": {"name": "new"}},
        {"class_name": "Dense", "config": {"units": 2, "name": "d2"}},
        {"class_name": "Embedding", "config": {"input_dim": 10, "output_dim": 3}},
    ]}}
    estimate = estimate_model(spec)
    assert estimate.params == 8 * 4 + 4 + 30
    assert estimate.skipped == ["new", "d2"]
    assert estimate_model({"class_name": "Sequential"}).params == 0
    assert estimate_model({"config": {"layers": [1, "x", None]}}).params == 0
