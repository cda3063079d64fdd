"""`keras.Sequential`, `keras.Input` and `compile` on the client, without a server."""

from __future__ import annotations

import json

import pytest

import horn
from horn import keras
from horn.keras import layers


def test_public_names_are_the_documented_ones() -> None:
    """horn's own names are at `horn`; `horn.keras` holds Keras's names only."""
    assert sorted(horn.__all__) == [
        "Connection", "__version__", "connect", "errors", "get_connection", "jobs", "keras"]
    assert sorted(keras.__all__) == [
        "Input", "Model", "Sequential", "activations", "callbacks", "constraints",
        "initializers", "layers", "losses", "metrics", "models", "optimizers",
        "regularizers", "utils"]
    for module in (horn, keras):
        for name in module.__all__:
            assert getattr(module, name) is not None
    assert keras.callbacks.History is not None


def test_models_namespace_holds_the_names_of_keras_models() -> None:
    """`horn.keras.models` has Keras's `keras.models` names that horn supports, no others
    (`clone_model` and `save_model` are not supported; `Input` is `keras.Input`)."""
    assert sorted(keras.models.__all__) == [
        "Model", "Sequential", "load_model", "model_from_json"]
    assert keras.models.Model is keras.Model and keras.models.Sequential is keras.Sequential
    assert issubclass(keras.Sequential, keras.Model)


def test_list_and_add_build_the_same_spec() -> None:
    a = keras.Sequential([keras.Input((4,), name="in"), layers.Dense(3, name="d")], name="m")
    b = keras.Sequential(name="m")
    b.add(keras.Input((4,), name="in"))
    b.add(layers.Dense(3, name="d"))
    assert a.to_json() == b.to_json()
    assert [layer.name for layer in a.layers] == ["d"]  # the InputLayer is not listed
    spec = json.loads(a.to_json())
    assert spec["class_name"] == "Sequential" and spec["build_config"] == {
        "input_shape": [None, 4]}
    assert spec["config"]["layers"][0]["config"]["batch_shape"] == [None, 4]


def test_model_from_json_round_trip() -> None:
    model = keras.Sequential([keras.Input((8,)), layers.Dense(4, activation="relu"),
                              layers.Dropout(0.5), layers.Dense(1)])
    again = keras.models.model_from_json(model.to_json())
    assert again.get_config() == model.get_config()


def test_add_refuses_non_layers_and_duplicates() -> None:
    model = keras.Sequential()
    with pytest.raises(ValueError, match="Only instances of `keras.Layer`"):
        model.add("dense")
    model.add(layers.Dense(2, name="same"))
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(2, name="same"))
    with pytest.raises(ValueError, match="first layer"):
        model.add(keras.Input((3,)))
    assert model.pop().name == "same" and model.layers == []
    with pytest.raises(TypeError, match="no layers"):
        model.pop()


def test_input_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        keras.Input()
    with pytest.raises(ValueError, match="both"):
        keras.Input((3,), batch_shape=(None, 3))
    assert keras.Input(5).shape == (None, 5)
    assert keras.Input((2, 3), batch_size=8).shape == (8, 2, 3)


def test_compile_catches_typos_with_suggestions() -> None:
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    with pytest.raises(ValueError, match="Did you mean `mse`"):
        model.compile(optimizer="adam", loss="msee")
    with pytest.raises(ValueError, match="Did you mean `accuracy`"):
        model.compile(optimizer="adam", loss="mse", metrics=["accuracyy"])
    with pytest.raises(ValueError, match="adam"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="custom Python functions"):
        model.compile(optimizer="adam", loss=lambda y, p: (y - p) ** 2)
    model.compile(optimizer="adam", loss="mse", metrics=["acc", "mae"])
    assert model.compiled


def test_compile_config_is_keras_format() -> None:
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9,
                                                 nesterov=True),
                  loss=keras.losses.MeanSquaredError(), metrics=["mae"], loss_weights=None)
    config = json.loads(model.to_json())["compile_config"]
    assert config["optimizer"]["class_name"] == "SGD"
    assert config["optimizer"]["module"] == "keras.optimizers"
    assert config["optimizer"]["config"]["momentum"] == 0.9
    assert config["loss"]["class_name"] == "MeanSquaredError"
    assert config["metrics"] == ["mae"]


def test_model_without_inputs_and_outputs_is_refused() -> None:
    with pytest.raises(ValueError, match="Subclassing `keras.Model`"):
        keras.Model()
