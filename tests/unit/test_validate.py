"""`horn.schemas.validate`: real Keras JSON passes, anything that could run code is refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from horn.keras import layers, optimizers
from horn.schemas.validate import MAX_DEPTH, SpecError, validate_keras_config


@pytest.fixture(scope="module")
def keras() -> Any:
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def sequential_json(keras: Any) -> dict[str, Any]:
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu", kernel_regularizer="l2",
                           kernel_initializer=keras.initializers.HeNormal()),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(3, activation="softmax"),
    ])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.9)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC()])
    spec: dict[str, Any] = json.loads(model.to_json())
    return spec


@pytest.fixture(scope="module")
def functional_json(keras: Any) -> dict[str, Any]:
    inputs = keras.Input((4, 4, 1), name="image")
    x = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(x)
    a = keras.layers.Dense(4, activation=keras.activations.gelu)(x)
    b = keras.layers.Dense(4)(x)
    out = keras.layers.Add()([a, b])
    model = keras.Model(inputs, keras.layers.LSTM(2)(keras.layers.Reshape((4, 1))(out)))
    spec: dict[str, Any] = json.loads(model.to_json())
    return spec


def test_real_sequential_passes(sequential_json: dict[str, Any]) -> None:
    assert (sequential_json["module"], sequential_json["class_name"]) == ("keras", "Sequential")
    validate_keras_config(sequential_json)
    validate_keras_config(sequential_json["compile_config"], where="compile_config")


def test_real_functional_passes(functional_json: dict[str, Any]) -> None:
    assert functional_json["class_name"] == "Functional"
    assert functional_json["module"] == "keras.src.models.functional"
    validate_keras_config(functional_json)


def test_function_references_pass(keras: Any) -> None:
    validate_keras_config(keras.saving.serialize_keras_object(keras.activations.relu))
    validate_keras_config({"module": "keras.losses", "class_name": "function",
                           "config": "mean_squared_error", "registered_name": None})


def test_client_objects_pass() -> None:
    validate_keras_config(layers.Dense(3, activation="relu")._serialize())
    validate_keras_config(optimizers.Adam()._serialize())
    validate_keras_config(layers.InputLayer(shape=(3,))._serialize())
    validate_keras_config(layers.Convolution2D(1, 1)._serialize())


def _with_layer(spec: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec["config"]["layers"].append(layer)
    return spec


def test_lambda_refused(sequential_json: dict[str, Any]) -> None:
    spec = _with_layer(sequential_json, {
        "module": "keras.layers", "class_name": "Lambda",
        "config": {"function": {"class_name": "__lambda__", "config": {"code": "..."}}},
        "registered_name": None,
    })
    with pytest.raises(SpecError) as info:
        validate_keras_config(spec)
    message = str(info.value)
    assert message.startswith(
        "Layer `Lambda` is not allowed on horn: it runs arbitrary Python code."
    )
    assert "model.config.layers[4]" in message


def test_tfsm_layer_refused(sequential_json: dict[str, Any]) -> None:
    spec = _with_layer(sequential_json, {
        "module": "keras.layers", "class_name": "TFSMLayer",
        "config": {"filepath": "/etc/passwd"}, "registered_name": None,
    })
    with pytest.raises(SpecError, match="Layer `TFSMLayer` is not allowed on horn: it loads"):
        validate_keras_config(spec)


def test_unknown_module_refused() -> None:
    with pytest.raises(SpecError, match=r"`os.system` at model is not a Keras built-in"):
        validate_keras_config({"module": "os", "class_name": "system", "config": {}})
    with pytest.raises(SpecError, match=r"at model.config.x"):
        validate_keras_config({"config": {"x": {"module": "subprocess", "class_name": "Popen",
                                                "config": {}}}})


def test_unknown_class_suggests() -> None:
    with pytest.raises(SpecError, match=r"Unknown class `Dence` in `keras.layers` at "
                       r"model.*Did you mean `Dense`\?"):
        validate_keras_config({"module": "keras.layers", "class_name": "Dence", "config": {}})


def test_registered_custom_object_refused(sequential_json: dict[str, Any]) -> None:
    spec = _with_layer(sequential_json, {
        "module": "keras.layers", "class_name": "Dense", "config": {"units": 2},
        "registered_name": "my_package>EvilDense",
    })
    with pytest.raises(SpecError, match=r"`registered_name` 'my_package>EvilDense' at "
                       r"model.config.layers\[4\] names a custom object"):
        validate_keras_config(spec)
    with pytest.raises(SpecError, match="custom function"):
        validate_keras_config({"module": "builtins", "class_name": "function",
                               "config": "relu", "registered_name": "pkg>relu"})


def test_lambda_marker_refused() -> None:
    with pytest.raises(SpecError, match=r"`__lambda__`\) at compile_config.loss"):
        validate_keras_config({"loss": {"class_name": "__lambda__", "config": {"code": "x"}}},
                              where="compile_config")


def test_unknown_function_refused() -> None:
    with pytest.raises(SpecError, match="Unknown function `rleu`.*Did you mean `relu`"):
        validate_keras_config({"module": "builtins", "class_name": "function",
                               "config": "rleu", "registered_name": "function"})
    with pytest.raises(SpecError, match="`os.system`"):
        validate_keras_config({"module": "os", "class_name": "function", "config": "system"})


def test_forbidden_callback_refused() -> None:
    with pytest.raises(SpecError, match="Callback `ModelCheckpoint` is not allowed on horn"):
        validate_keras_config({"module": "keras.callbacks", "class_name": "ModelCheckpoint",
                               "config": {"filepath": "/tmp/x"}}, where="callbacks[0]")


def test_vocabulary_file_path_refused() -> None:
    spec: dict[str, Any] = {"module": "keras.layers", "class_name": "StringLookup",
            "config": {"vocabulary": "/etc/passwd"}, "registered_name": None}
    with pytest.raises(SpecError, match="Argument `vocabulary` of StringLookup"):
        validate_keras_config(spec)
    spec["config"]["vocabulary"] = ["a", "b"]
    validate_keras_config(spec)


def test_bounds() -> None:
    deep: Any = 0
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(SpecError, match="nested too deeply"):
        validate_keras_config(deep)
    with pytest.raises(SpecError, match="too large"):
        validate_keras_config([0] * 100_001)


def test_non_json_refused() -> None:
    with pytest.raises(SpecError, match="Expected JSON data"):
        validate_keras_config({"config": {"x": object()}})
