"""The worker's Keras side: specs from the SDK rebuild in Keras, state round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

import client as keras_client
from client import layers
from worker.events import clean_logs

keras = pytest.importorskip("keras")
runtime = pytest.importorskip("worker.runtime")


def _client_model() -> keras_client.Sequential:
    model = keras_client.Sequential([keras_client.Input((6,)),
                                     layers.Dense(4, activation="relu"),
                                     layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras_client.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_client_json_loads_in_real_keras() -> None:
    spec = json.loads(_client_model().to_json())
    model = keras.models.model_from_json(json.dumps(spec))
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    assert model.count_params() == 6 * 4 + 4 + 4 * 2 + 2
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)


def test_state_round_trip_keeps_weights_and_optimizer() -> None:
    client_model = _client_model()
    spec, compile_config = json.loads(client_model.to_json()), client_model._compile_config
    spec.pop("compile_config")
    assert compile_config is not None
    model = runtime.build_model(spec)
    runtime.compile_model(model, compile_config)
    x = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model.fit(x, y, epochs=1, verbose=0)
    blob = runtime.pack_state(model, include_optimizer=True)

    again = runtime.build_model(spec)
    runtime.compile_model(again, compile_config)
    runtime.restore_state(again, blob, restore_optimizer=True)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(again.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    np.testing.assert_allclose(model.predict(x, verbose=0), again.predict(x, verbose=0))


def test_unbuilt_sequential_is_built_from_data() -> None:
    model = runtime.build_model(json.loads(
        keras_client.Sequential([layers.Dense(3)]).to_json()))
    assert not model.built
    runtime.ensure_built(model, np.zeros((5, 7), dtype="float32"))
    assert model.built and model.count_params() == 7 * 3 + 3


def test_evaluate_order_matches_keras() -> None:
    client_model = _client_model()
    spec = json.loads(client_model.to_json())
    model = runtime.build_model({k: v for k, v in spec.items() if k != "compile_config"})
    runtime.compile_model(model, spec["compile_config"])
    x = np.zeros((8, 6), dtype="float32")
    y = np.zeros((8,), dtype="int64")
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    flat = model.evaluate(x, y, verbose=0)
    order = runtime.metric_names_in_order(model, logs)
    assert [logs[name] for name in order] == pytest.approx(flat)


def test_clean_logs_is_json_safe() -> None:
    cleaned = clean_logs({"loss": np.float32(0.5), "acc": float("nan"),
                          "big": float("inf"), "text": "x"})
    assert cleaned == {"loss": 0.5, "acc": "nan", "big": "inf"}
    json.dumps(cleaned, allow_nan=False)
