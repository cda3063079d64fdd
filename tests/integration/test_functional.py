"""The functional API through the SDK: several inputs and outputs (lists and dicts),
shared layers, nested models, per-output losses and weights; the JSON both ways."""

from __future__ import annotations

import json

import numpy as np
import pytest

import horn
from horn import keras
from horn.keras import layers


def _two_in_two_out() -> keras.Model:
    a = keras.Input((8,), name="numbers")
    b = keras.Input((4,), name="extra")
    shared = layers.Dense(16, activation="relu", name="shared")
    merged = layers.concatenate([shared(a), layers.Dense(16, activation="relu")(b)])
    hidden = layers.Dense(16, activation="relu")(merged) + shared(a)  # shared layer twice
    head = keras.Sequential([keras.Input((16,)), layers.Dense(3, activation="softmax")],
                            name="head")  # a nested model
    cls = head(hidden)
    reg = layers.Dense(1, name="value")(hidden)
    return keras.Model(inputs={"numbers": a, "extra": b}, outputs={"cls": cls, "reg": reg},
                       name="two_heads")


def _data(n: int = 512) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(n, 8)).astype("float32")
    b = rng.normal(size=(n, 4)).astype("float32")
    cls = (a[:, 0] > 0).astype("int64") + (b[:, 0] > 0).astype("int64")
    reg = (a[:, :2].sum(axis=1, keepdims=True) + b[:, :1]).astype("float32")
    return {"numbers": a, "extra": b}, {"cls": cls, "reg": reg}


def test_json_round_trips_with_real_keras() -> None:
    real = pytest.importorskip("keras")
    model = _two_in_two_out()
    rebuilt = real.models.model_from_json(model.to_json())
    assert sorted(rebuilt.input_names if hasattr(rebuilt, "input_names") else
                  [t.name for t in rebuilt.inputs]) == ["extra", "numbers"]
    assert rebuilt.get_layer("shared").count_params() == 8 * 16 + 16
    back = keras.models.model_from_json(rebuilt.to_json())
    assert [layer.name for layer in back.layers] == [layer.name for layer in model.layers]
    assert json.loads(back.to_json())["config"]["output_layers"] == {
        "cls": ["head", 0, 0], "reg": ["value", 0, 0]}


def test_two_inputs_two_outputs_train_and_predict(conn: horn.Connection) -> None:
    x, y = _data()
    model = _two_in_two_out()
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": ["accuracy"], "reg": ["mae"]})
    history = model.fit(x, y, epochs=6, batch_size=32, verbose=0, validation_split=0.2)
    keys = set(history.history)
    assert {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae", "val_loss"} <= keys
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = model.predict(x, verbose=0)
    assert isinstance(predictions, dict) and set(predictions) == {"cls", "reg"}
    assert predictions["cls"].shape == (512, 3) and predictions["reg"].shape == (512, 1)
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    accuracy = float(np.mean(predictions["cls"].argmax(axis=1) == y["cls"]))
    assert results["cls_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert accuracy > 0.6  # three classes: chance is about 0.4


def test_list_inputs_and_outputs(conn: horn.Connection) -> None:
    a, b = keras.Input((3,)), keras.Input((3,))
    out1 = layers.Dense(1)(layers.add([a, b]))
    out2 = layers.Dense(1)(layers.subtract([a, b]))
    model = keras.Model([a, b], [out1, out2])
    model.compile(optimizer="adam", loss=["mse", "mse"])
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 3))
    model.fit([xa, xb], [xa.sum(1), (xa - xb).sum(1)], epochs=2, verbose=0)
    first, second = model.predict([xa, xb], verbose=0)
    assert first.shape == (64, 1) and second.shape == (64, 1)


def test_graph_errors_read_like_keras() -> None:
    a, b = keras.Input((3,)), keras.Input((3,))
    out = layers.Dense(1)(layers.add([a, b]))
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)
    with pytest.raises(ValueError, match="symbolic tensors"):
        layers.Dense(2)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Subclassing"):
        keras.Model()


def test_summary_is_keras_table_from_the_worker(conn: horn.Connection,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    real = pytest.importorskip("keras")
    model = _two_in_two_out()
    model.summary()
    ours = capsys.readouterr().out
    theirs: list[str] = []
    real.models.model_from_json(model.to_json()).summary(print_fn=theirs.append)
    assert ours.strip().splitlines() == "\n".join(theirs).strip().splitlines()
    assert "Total params" in ours and "shared (Dense)" in ours
    assert model.count_params() == real.models.model_from_json(model.to_json()).count_params()
    lines: list[str] = []
    keras.Sequential([keras.Input((3,)), layers.Dense(2)]).summary(print_fn=lines.append)
    assert any("Total params: 8" in line for line in lines)


def test_set_weights_round_trip(conn: horn.Connection) -> None:
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    weights = [np.arange(6, dtype="float32").reshape(3, 2), np.array([1.0, -1.0], "float32")]
    model.set_weights(weights)
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    x = np.ones((4, 3), dtype="float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ weights[0] + weights[1])
    with pytest.raises(ValueError, match="expecting 2 weights"):
        model.set_weights(weights[:1])
    with pytest.raises(ValueError, match=r"weight shape \(3, 2\) is not compatible"):
        model.set_weights([np.zeros((2, 2)), weights[1]])
