"""The catalog-driven client objects: arguments, names, configs, Keras compatibility."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from horn import _mirror as _objects
from horn.keras import (
    activations,
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    regularizers,
)
from horn.keras.optimizers import schedules
from horn.schemas.catalog import load_catalog
from tests.unit._catalog_samples import sample_kwargs

ROUND_TRIP_CATEGORIES = (
    "layers", "optimizers", "schedules", "losses", "metrics",
    "initializers", "regularizers", "constraints", "callbacks",
)
ALL_CLASSES = [
    (category, name)
    for category in ROUND_TRIP_CATEGORIES
    for name in load_catalog().class_names(category)
]


def _build(category: str, name: str) -> Any:
    cls = _objects._lookup(category, name)
    entry = load_catalog().entry(category, name)
    assert cls is not None and entry is not None
    return cls(**sample_kwargs(category, name, entry))


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


# ----------------------------------------------------------------------------- arguments


def test_unknown_argument_suggests() -> None:
    with pytest.raises(ValueError) as info:
        layers.Dense(unit=3)
    assert str(info.value) == ("Unrecognized keyword arguments passed to Dense: {'unit': 3}. "
                               "Did you mean `units`?")
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, _objects.UnknownArgumentError)


def test_unknown_argument_lists_accepted_names() -> None:
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Dense: "
                       r"\{'zzz': 1\}\.") as info:
        layers.Dense(3, zzz=1)
    assert "Did you mean" not in str(info.value)
    assert "`units`" in str(info.value) and "`activation`" in str(info.value)


def test_missing_required_argument() -> None:
    with pytest.raises(TypeError) as info:
        layers.Dense()
    assert str(info.value) == "Dense.__init__() missing 1 required positional argument: 'units'"
    with pytest.raises(TypeError, match="missing 2 required positional arguments: "
                       "'filters' and 'kernel_size'"):
        layers.Conv2D()


def test_too_many_positionals_and_duplicates() -> None:
    with pytest.raises(TypeError, match=r"Dropout.__init__\(\) takes from 2 to 4 positional "
                       r"arguments but 6 were given"):
        layers.Dropout(0.5, None, None, 1, 2)
    with pytest.raises(TypeError, match="got multiple values for argument 'units'"):
        layers.Dense(3, units=4)


def test_positional_binding_and_attributes() -> None:
    dense = layers.Dense(4, "relu", False)
    assert (dense.units, dense.activation, dense.use_bias) == (4, "relu", False)
    conv = layers.Conv2D(8, (3, 3), strides=2)
    assert conv.get_config()["kernel_size"] == (3, 3)
    assert conv.get_config()["padding"] == "valid"


def test_base_kwargs_accepted() -> None:
    dense = layers.Dense(3, name="out", trainable=False, dtype="float64", input_shape=(4,))
    config = dense.get_config()
    assert (config["name"], config["trainable"], config["dtype"]) == ("out", False, "float64")
    assert config["input_shape"] == (4,)
    sgd = optimizers.SGD(clipnorm=1.0, name="opt")
    assert sgd.get_config()["clipnorm"] == 1.0


def test_bad_identifier_string() -> None:
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: "
                       "rleu. Did you mean `relu`?"):
        layers.Dense(3, activation="rleu")
    with pytest.raises(ValueError, match="initializer identifier: glorot_unifrom"):
        layers.Dense(3, kernel_initializer="glorot_unifrom")


def test_python_callables_refused() -> None:
    with pytest.raises(TypeError, match="never sends Python code"):
        layers.Dense(3, activation=lambda x: x)


def test_numpy_scalars_become_python() -> None:
    np = pytest.importorskip("numpy")
    config = layers.Dense(np.int64(3), kernel_regularizer=regularizers.L2(np.float32(0.5)))
    value = config.get_config()
    assert type(value["units"]) is int
    assert type(value["kernel_regularizer"]["config"]["l2"]) is float


# ----------------------------------------------------------------------------- names


def test_auto_names_like_keras() -> None:
    _objects.reset_names()
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert layers.Conv2DTranspose(1, 1).name == "conv2d_transpose"
    assert layers.Dense(1, name="head").name == "head"
    assert layers.Dense(1).name == "dense_3"
    assert layers.Convolution2D(1, 1).name == "conv2d"
    assert layers.BatchNormalization().name == "batch_normalization"


def test_trainable_attribute() -> None:
    dense = layers.Dense(2)
    assert dense.trainable is True
    dense.trainable = False
    assert dense.get_config()["trainable"] is False


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(("category", "name"), ALL_CLASSES, ids=lambda v: str(v))
def test_get_config_round_trip(category: str, name: str) -> None:
    obj = _build(category, name)
    config = obj.get_config()
    json.dumps(config)  # JSON-safe
    again = type(obj).from_config(config).get_config()
    assert again == config


@pytest.mark.parametrize(("category", "name"), ALL_CLASSES, ids=lambda v: str(v))
def test_serialized_form_is_accepted_by_keras(category: str, name: str) -> None:
    keras = pytest.importorskip("keras")
    spec = _json(_build(category, name)._serialize())
    assert spec["registered_name"] is None
    if category == "callbacks":  # Keras callbacks have no from_config; built by kwargs
        obj = getattr(keras.callbacks, spec["class_name"])(**spec["config"])
        assert type(obj).__name__ == spec["class_name"]
    else:
        obj = keras.saving.deserialize_keras_object(spec)
        again = keras.saving.serialize_keras_object(obj)
        assert (again["module"], again["class_name"]) == (spec["module"], spec["class_name"])


SAMPLES: list[tuple[str, Any, dict[str, Any]]] = [
    ("layers", lambda: layers.Dense(5, activation="relu", use_bias=False, name="d5"),
     {"units": 5, "activation": "relu", "use_bias": False, "name": "d5"}),
    ("layers", lambda: layers.Conv2D(8, 3, strides=2, padding="same"),
     {"filters": 8, "strides": [2, 2], "padding": "same", "kernel_size": [3, 3]}),
    ("layers", lambda: layers.LSTM(7, return_sequences=True, dropout=0.25),
     {"units": 7, "return_sequences": True, "dropout": 0.25}),
    ("layers", lambda: layers.Dropout(0.3, seed=4), {"rate": 0.3, "seed": 4}),
    ("layers", lambda: layers.BatchNormalization(momentum=0.9, epsilon=0.01),
     {"momentum": 0.9, "epsilon": 0.01}),
    ("layers", lambda: layers.Dense(2, kernel_initializer=initializers.HeNormal(seed=3),
                                    kernel_regularizer=regularizers.L1L2(l1=0.1, l2=0.2),
                                    kernel_constraint=constraints.MaxNorm(2.0)),
     {"units": 2}),
    ("layers", lambda: layers.InputLayer(shape=(28, 28), name="pixels"),
     {"batch_shape": [None, 28, 28], "name": "pixels"}),
    ("optimizers", lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
     {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("optimizers", lambda: optimizers.AdamW(weight_decay=0.01, beta_1=0.8, clipnorm=1.0),
     {"weight_decay": 0.01, "beta_1": 0.8, "clipnorm": 1.0}),
    ("optimizers", lambda: optimizers.Adam(
        learning_rate=schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)), {}),
    ("schedules", lambda: schedules.CosineDecay(0.1, 100, alpha=0.1),
     {"initial_learning_rate": 0.1, "decay_steps": 100, "alpha": 0.1}),
    ("initializers", lambda: initializers.RandomNormal(mean=1.0, stddev=0.5, seed=2),
     {"mean": 1.0, "stddev": 0.5, "seed": 2}),
    ("initializers", lambda: initializers.glorot_uniform(seed=1), {"seed": 1}),
    ("regularizers", lambda: regularizers.L2(0.3), {"l2": 0.3}),
    ("constraints", lambda: constraints.MinMaxNorm(0.5, 2.0), {"min_value": 0.5,
                                                              "max_value": 2.0}),
    ("losses", lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
     {"from_logits": True}),
    ("losses", lambda: losses.BinaryCrossentropy(label_smoothing=0.1, axis=-2),
     {"label_smoothing": 0.1, "axis": -2}),
    ("metrics", lambda: metrics.AUC(num_thresholds=50, name="auc50"),
     {"num_thresholds": 50, "name": "auc50"}),
    ("metrics", lambda: metrics.TopKCategoricalAccuracy(k=3), {"k": 3}),
]


@pytest.mark.parametrize(("category", "factory", "expected"), SAMPLES)
def test_keras_agrees_on_passed_arguments(
    category: str, factory: Any, expected: dict[str, Any]
) -> None:
    keras = pytest.importorskip("keras")
    obj = factory()
    spec = _json(obj._serialize())
    rebuilt = keras.saving.deserialize_keras_object(spec)
    keras_config = _json(rebuilt.get_config())
    for key, value in expected.items():
        assert keras_config[key] == (
            pytest.approx(value) if isinstance(value, float) else value
        ), key
    if category == "layers" and "kernel_initializer" in obj._horn_passed:
        assert keras_config["kernel_initializer"]["class_name"] == "HeNormal"
        assert keras_config["kernel_initializer"]["config"]["seed"] == 3
        assert keras_config["kernel_regularizer"]["config"] == {"l1": 0.1, "l2": 0.2}
        assert keras_config["kernel_constraint"]["config"]["max_value"] == 2.0


def test_layers_deserialize_in_keras_layers_namespace() -> None:
    keras = pytest.importorskip("keras")
    layer = keras.layers.deserialize(_json(layers.Dense(3, activation="tanh")._serialize()))
    assert layer.units == 3 and layer.activation.__name__ == "tanh"


def test_schedule_inside_optimizer_reaches_keras() -> None:
    keras = pytest.importorskip("keras")
    adam = optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    rebuilt = keras.optimizers.deserialize(_json(adam._serialize()))
    assert isinstance(rebuilt._learning_rate, keras.optimizers.schedules.ExponentialDecay)


# ----------------------------------------------------------------------------- namespaces


def test_signature_and_docstring() -> None:
    sig = inspect.signature(layers.Dense)
    assert list(sig.parameters)[:2] == ["units", "activation"]
    assert sig.parameters["name"].kind is inspect.Parameter.KEYWORD_ONLY
    assert layers.Dense.__doc__ and "units: required." in layers.Dense.__doc__


def test_functions_serialize_to_names_and_refuse_local_calls() -> None:
    assert activations.relu.__name__ == "relu"
    assert _objects.serialize(activations.relu) == "relu"
    assert layers.Dense(2, activation=activations.softmax).get_config()["activation"] == (
        "softmax"
    )
    with pytest.raises(NotImplementedError, match="horn worker"):
        losses.sparse_categorical_crossentropy([0], [[1.0]])


def test_get_serialize_deserialize() -> None:
    adam = optimizers.get("adam")
    assert isinstance(adam, optimizers.Adam)
    assert optimizers.get(adam) is adam
    assert isinstance(optimizers.get({"class_name": "SGD", "config": {"momentum": 0.5}}),
                      optimizers.SGD)
    assert losses.get("mse") is losses.mean_squared_error
    assert isinstance(losses.get("SparseCategoricalCrossentropy"),
                      losses.SparseCategoricalCrossentropy)
    assert isinstance(initializers.get("glorot_uniform"), initializers.GlorotUniform)
    assert activations.get("relu") is activations.relu
    assert activations.get(None) is None
    assert losses.serialize("mse") == "mse"
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: adamm. "
                       "Did you mean `adam`?"):
        optimizers.get("adamm")
    dense = layers.Dense(3, name="x")
    again = layers.deserialize(layers.serialize(dense))
    assert again.get_config() == dense.get_config()
    reg = regularizers.deserialize({"module": "keras.regularizers", "class_name": "L2",
                                    "config": {"l2": 0.1}, "registered_name": None})
    assert reg.l2 == 0.1
    assert metrics.get("accuracy") is not None


def test_aliases_are_the_same_class() -> None:
    assert layers.Convolution2D is layers.Conv2D
    assert initializers.glorot_uniform is initializers.GlorotUniform
    assert regularizers.l2 is regularizers.L2
    assert layers.MaxPool2D(2)._serialize()["class_name"] == "MaxPooling2D"


def test_forbidden_names_raise_with_reason() -> None:
    with pytest.raises(_objects.ForbiddenObjectError) as info:
        layers.Lambda(lambda x: x)
    assert str(info.value).startswith(
        "Layer `Lambda` is not allowed on horn: it runs arbitrary Python code."
    )
    assert "custom Python code never runs on horn" in str(info.value)
    with pytest.raises(_objects.ForbiddenObjectError, match="TensorBoard"):
        callbacks.TensorBoard("logs")
    with pytest.raises(_objects.ForbiddenObjectError, match="LearningRateSchedule"):
        callbacks.LearningRateScheduler(lambda epoch: 0.1)


def test_custom_subclass_refused() -> None:
    class MyLayer(layers.Layer):
        pass

    with pytest.raises(TypeError, match="cannot be used on horn"):
        MyLayer()


def test_all_sorted_and_complete() -> None:
    for module in (layers, optimizers, schedules, losses, metrics, activations,
                   initializers, regularizers, constraints, callbacks):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
    assert "InputLayer" in layers.__all__
    assert "schedules" in optimizers.__all__


# ----------------------------------------------------------------------------- callbacks


def test_local_callback_base() -> None:
    seen: list[tuple[int, dict[str, float] | None]] = []

    class Recorder(callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            seen.append((epoch, logs))

    rec = Recorder()
    rec.set_model("model")
    rec.set_params({"epochs": 1})
    assert (rec.model, rec.params) == ("model", {"epochs": 1})
    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                 "on_predict_begin", "on_predict_end"):
        getattr(rec, hook)(logs=None)
    for hook in ("on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                 "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
                 "on_predict_batch_end", "on_batch_begin", "on_batch_end"):
        getattr(rec, hook)(0, logs=None)
    rec.on_epoch_end(0, {"loss": 1.0})
    assert seen == [(0, {"loss": 1.0})]
    assert rec._remote is False


def test_remote_callbacks() -> None:
    stop = callbacks.EarlyStopping(monitor="loss", patience=2)
    assert isinstance(stop, callbacks.Callback)
    assert stop._remote is True
    assert stop.model is None and stop.params == {}
    assert _objects.serialize(stop) == {
        "module": "keras.callbacks",
        "class_name": "EarlyStopping",
        "config": {
            "monitor": "loss", "min_delta": 0, "patience": 2, "verbose": 0, "mode": "auto",
            "baseline": None, "restore_best_weights": False, "start_from_epoch": 0,
        },
        "registered_name": None,
    }
    for name in ("ReduceLROnPlateau", "TerminateOnNaN"):
        assert getattr(callbacks, name)()._remote is True


def test_lambda_callback_runs_locally() -> None:
    seen: list[int] = []
    cb = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    cb.on_epoch_end(3, {})
    assert seen == [3]
    assert cb._remote is False


def test_misspelt_namespace_attribute() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Dens'. Did you mean `Dense`?"):
        _ = layers.Dens
    with pytest.raises(AttributeError, match="progress bar"):
        _ = callbacks.ProgbarLogger


def test_multi_optimizer_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="MultiOptimizer` is not allowed on horn: its "
                                         "`optimizer_map`.*one optimizer"):
        optimizers.MultiOptimizer()
