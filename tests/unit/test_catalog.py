"""The Keras catalog: current against the installed Keras, and its helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from horn.schemas.catalog import CATEGORIES, load_catalog, suggest
from horn.worker import catalog_gen

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    return catalog_gen.build_catalog()


def test_catalog_is_current_against_installed_keras(built: dict[str, Any]) -> None:
    on_disk = json.loads((ROOT / "schemas" / "keras_catalog.json").read_text())
    assert built == on_disk, (
        "schemas/keras_catalog.json is stale; run `python -m horn.worker.catalog_gen`"
    )


def test_check_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "catalog.json"
    assert catalog_gen.main(["--output", str(out)]) == 0
    assert catalog_gen.main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text().replace('"Dense"', '"Dence"'))
    assert catalog_gen.main(["--check", "--output", str(out)]) == 1
    assert re.search(
        r"schemas/keras_catalog.json is stale for keras \d+\.\d+\.\d+; "
        r"run `python -m horn.worker.catalog_gen`",
        capsys.readouterr().err,
    )


def test_render_is_deterministic(built: dict[str, Any]) -> None:
    assert catalog_gen.render(built) == catalog_gen.render(catalog_gen.build_catalog())


@pytest.mark.parametrize(
    ("category", "name", "module"),
    [
        ("layers", "Conv2D", "keras.layers"),
        ("layers", "LSTM", "keras.layers"),
        ("layers", "BatchNormalization", "keras.layers"),
        ("layers", "Dense", "keras.layers"),
        ("layers", "Dropout", "keras.layers"),
        ("layers", "InputLayer", "keras.layers"),
        ("optimizers", "AdamW", "keras.optimizers"),
        ("optimizers", "SGD", "keras.optimizers"),
        ("schedules", "ExponentialDecay", "keras.optimizers.schedules"),
        ("losses", "SparseCategoricalCrossentropy", "keras.losses"),
        ("metrics", "AUC", "keras.metrics"),
        ("initializers", "GlorotUniform", "keras.initializers"),
        ("regularizers", "L2", "keras.regularizers"),
        ("constraints", "MaxNorm", "keras.constraints"),
        ("callbacks", "EarlyStopping", "keras.callbacks"),
    ],
)
def test_key_classes_exist(category: str, name: str, module: str) -> None:
    entry = load_catalog().entry(category, name)
    assert entry is not None
    assert entry["module"] == module
    assert entry["class_name"] == name


def test_modules_match_what_keras_writes() -> None:
    keras = pytest.importorskip("keras")
    catalog = load_catalog()
    samples = [
        keras.layers.Dense(2),
        keras.optimizers.SGD(),
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9),
        keras.losses.MeanSquaredError(),
        keras.metrics.AUC(),
        keras.initializers.GlorotUniform(),
        keras.regularizers.L2(),
        keras.constraints.MaxNorm(),
    ]
    for obj in samples:
        spec = keras.saving.serialize_keras_object(obj)
        assert (spec["module"], spec["class_name"]) in catalog.allowed_pairs()


def test_dense_params_and_functions() -> None:
    catalog = load_catalog()
    dense = catalog.entry("layers", "Dense")
    assert dense is not None
    assert dense["params"][0] == {"name": "units", "kind": "positional_or_keyword"}
    assert dense["var_kwargs"] is True
    assert {"name": "activation", "kind": "positional_or_keyword", "default": None} in dense[
        "params"
    ]
    assert "relu" in catalog.function_names("activations")
    assert "sparse_categorical_crossentropy" in catalog.function_names("losses")
    assert catalog.canonical("losses", "mse") == "mean_squared_error"
    assert catalog.canonical("initializers", "glorot_uniform") == "GlorotUniform"
    assert catalog.canonical("regularizers", "l2") == "L2"


def test_base_kwargs() -> None:
    catalog = load_catalog()
    layer = {p["name"] for p in catalog.base_kwargs("layers")}
    assert {"name", "trainable", "dtype", "autocast", "activity_regularizer"} <= layer
    assert {"input_shape", "input_dim"} <= layer
    optimizer = {p["name"] for p in catalog.base_kwargs("optimizers")}
    assert {
        "name", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
        "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
        "gradient_accumulation_steps",
    } <= optimizer


def test_forbidden_names_are_not_allowed() -> None:
    catalog = load_catalog()
    for name in ("Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"):
        assert catalog.forbidden_reason("layers", name)
        assert catalog.entry("layers", name) is None
    for name in (
        "LambdaCallback", "ModelCheckpoint", "BackupAndRestore", "TensorBoard",
        "CSVLogger", "RemoteMonitor", "LearningRateScheduler",
    ):
        assert catalog.forbidden_reason("callbacks", name)
        assert catalog.entry("callbacks", name) is None
    for category in CATEGORIES:
        assert not set(catalog.forbidden(category)) & set(catalog.names(category))


def test_remote_callbacks() -> None:
    catalog = load_catalog()
    for name in ("EarlyStopping", "ReduceLROnPlateau", "TerminateOnNaN"):
        entry = catalog.entry("callbacks", name)
        assert entry is not None and entry["remote"] is True


def test_suggest() -> None:
    assert suggest("unit", ["units", "activation"]) == "units"
    assert suggest("dense", ["Dense", "Dropout"]) == "Dense"
    assert suggest("zzzz", ["units", "activation"]) is None


def test_no_keras_imports_in_client_or_schemas() -> None:
    pattern = re.compile(r"^\s*(import|from)\s+(keras|tensorflow)\b", re.M)
    for package in ("client", "schemas"):
        for path in (ROOT / package).rglob("*.py"):
            assert not pattern.search(path.read_text()), f"{path} imports keras/tensorflow"
