"""The worker's Keras side: specs from the SDK rebuild in Keras, state round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from horn import keras as keras_client
from horn.keras import layers
from horn.schemas.events import EpochEnd
from horn.worker.events import clean_logs

keras = pytest.importorskip("keras")
runtime = pytest.importorskip("horn.worker.runtime")
memory = pytest.importorskip("horn.worker.memory")
patches = pytest.importorskip("horn.worker.patches")
startup = pytest.importorskip("horn.worker.startup")


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


def _spec_and_compile(dropout: bool = True) -> tuple[dict, dict]:
    client_model = keras_client.Sequential(
        [keras_client.Input((6,)), layers.Dense(8, activation="relu"),
         *([layers.Dropout(0.3)] if dropout else []), layers.Dense(2, activation="softmax")])
    client_model.compile(optimizer=keras_client.optimizers.Adam(learning_rate=0.01),
                         loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    spec = json.loads(client_model.to_json())
    compile_config = spec.pop("compile_config")
    return spec, compile_config


def _built(spec: dict, compile_config: dict, seed: int) -> object:
    keras.utils.set_random_seed(seed)
    model = runtime.build_model(spec)
    runtime.compile_model(model, compile_config)
    return model


def test_a_warm_model_given_a_new_models_state_trains_exactly_like_it() -> None:
    spec, compile_config = _spec_and_compile()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    fresh = _built(spec, compile_config, seed=3)
    keras.utils.set_random_seed(11)  # the same dropout masks and shuffling both times
    expected = fresh.fit(x, y, epochs=2, batch_size=32, verbose=0).history  # type: ignore[attr-defined]

    warm = _built(spec, compile_config, seed=5)
    warm.fit(x, y, epochs=3, verbose=0)  # type: ignore[attr-defined]  # traced, moved on
    new = _built(spec, compile_config, seed=3)
    assert runtime.adopt_state(warm, new)
    keras.utils.set_random_seed(11)
    history = warm.fit(x, y, epochs=2, batch_size=32, verbose=0).history  # type: ignore[attr-defined]
    assert history == expected
    for a, b in zip(warm.get_weights(), fresh.get_weights(), strict=True):  # type: ignore[attr-defined]
        np.testing.assert_array_equal(a, b)
    assert int(warm.optimizer.iterations.numpy()) == 6  # type: ignore[attr-defined]


def test_state_of_another_shape_is_refused_untouched() -> None:
    spec = json.loads(keras_client.Sequential([layers.Dense(3)]).to_json())
    warm, other = runtime.build_model(spec), runtime.build_model(spec)
    runtime.ensure_built(warm, np.zeros((2, 4), "float32"))
    runtime.ensure_built(other, np.zeros((2, 5), "float32"))
    before = warm.get_weights()
    assert not runtime.adopt_state(warm, other)
    for a, b in zip(before, warm.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_finished_traces_are_freed_between_jobs() -> None:
    """Each job's traced functions must be freed once its model is gone; TensorFlow's
    gradient registry held them for the life of the process."""
    import gc

    spec, compile_config = _spec_and_compile(dropout=False)
    x = np.zeros((16, 6), "float32")
    y = np.zeros((16,), "int64")

    def job() -> None:
        runtime.reset_session()
        model = runtime.build_model(spec)
        runtime.compile_model(model, compile_config)
        model.fit(x, y, epochs=1, verbose=0)
        model.predict(x, verbose=0)
        memory.collect_garbage()

    def traced_graphs() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o).__name__ == "FuncGraph")

    job()
    after_one = traced_graphs()
    for _ in range(4):
        job()
    assert traced_graphs() <= after_one


def test_reset_session_restarts_names_and_keeps_the_kernel_cache(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each job starts with Keras's automatic names as in a fresh process, and keeps
    TensorFlow's eager kernels (emptied, the next model creates every one again); a
    seeded job empties them too, as a fresh process starts without."""
    from tensorflow.python.eager import context

    cleared: list[object] = []
    monkeypatch.setattr(type(context.context()), "clear_kernel_cache",
                        lambda self: cleared.append(self))
    keras.layers.Dense(1), keras.layers.Dense(1)
    runtime.reset_session()
    assert keras.layers.Dense(1).name == "dense"
    assert cleared == []
    assert "clear_kernel_cache" not in vars(context.context())  # the stand-in is gone
    runtime.reset_session(keep_kernels=False)
    assert keras.layers.Dense(1).name == "dense"
    assert cleared == [context.context()]


def test_kept_kernels_are_emptied_by_the_next_full_collection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels kept for a new model (one per traced function called) are emptied
    with the next full collection; a child that only ran warm models keeps them."""
    import gc

    from tensorflow.python.eager import context

    cleared: list[object] = []
    monkeypatch.setattr(type(context.context()), "clear_kernel_cache",
                        lambda self: cleared.append(self))
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)
    monkeypatch.setattr(memory, "_jobs_since_collect", 0)
    monkeypatch.setattr(patches, "_kernels_kept", False)
    for _ in range(memory.COLLECT_EVERY):  # warm jobs only
        memory.collect_garbage()
    assert cleared == []
    runtime.reset_session()  # a new model's build
    for _ in range(memory.COLLECT_EVERY - 1):
        memory.collect_garbage()
    assert cleared == []
    memory.collect_garbage()  # the full collection
    assert cleared == [context.context()]
    for _ in range(memory.COLLECT_EVERY):
        memory.collect_garbage()
    assert cleared == [context.context()]


@pytest.mark.parametrize("seed", [None, 7])
def test_a_job_s_build_empties_the_kernel_cache_only_when_seeded(
        monkeypatch: pytest.MonkeyPatch, seed: int | None) -> None:
    from horn.worker.tasks import model as job_model

    calls: list[bool] = []
    monkeypatch.setattr(runtime, "reset_session",
                        lambda keep_kernels=True: calls.append(keep_kernels))
    spec, compile_config = _spec_and_compile(dropout=False)
    model = job_model.build(spec, compile_config, {"seed": seed}, None, False)
    assert calls == [seed is None]
    assert model.count_params() == 6 * 8 + 8 + 8 * 2 + 2


class _RefusingSink:
    """Takes events; the first epoch's record is then refused by the database, as the
    heartbeat thread would find when writing it."""

    def __init__(self) -> None:
        self.refused: Exception | None = None
        self.records: list[int] = []

    def emit(self, *_: object, **__: object) -> None:
        pass

    def epoch_end(self, event: EpochEnd, *_: object, **__: object) -> None:
        self.records.append(event.epoch)
        from sqlalchemy.exc import DataError

        self.refused = DataError("INSERT", {}, Exception("value too long"))


def test_a_refused_epoch_record_fails_training_at_the_next_batch() -> None:
    from sqlalchemy.exc import DataError

    from horn.worker.progress import ProgressCallback

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((64, 6), "float32"), np.zeros((64, 2), "float32")
    sink = _RefusingSink()
    seen: list[int] = []
    batches = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(batch))
    with pytest.raises(DataError, match="value too long"):
        model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                  callbacks=[batches, ProgressCallback(sink, 0.25)])  # type: ignore[arg-type]
    assert sink.records == [0]  # no second epoch was recorded
    assert seen == [0, 1, 2, 3, 0]  # stopped at the first batch after the refusal


def _pipeline_autotunes() -> bool:
    """Whether the pipeline Keras builds for a `fit` on arrays would start tf.data's
    autotuner (its `autotune.enabled` option: unset means tf.data's default, on)."""
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    adapter = ArrayDataAdapter(np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32"),
                               batch_size=4, shuffle=True)
    return adapter.get_tf_dataset().options().autotune.enabled is not False


def _seeded_fit() -> tuple[dict[str, list[float]], list[np.ndarray]]:
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((96, 5), dtype=np.float32)
    y = (x.sum(axis=1) > 0).astype("int64")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    return history.history, model.get_weights()


def test_data_autotune_off_changes_no_batch_and_no_number() -> None:
    """The worker turns tf.data's autotuner off for Keras's array pipelines (its thread
    can stall the end of an epoch); Keras's own pipeline comes back when asked, and the
    same seeded `fit` gives the same history and weights either way."""
    assert _pipeline_autotunes()  # Keras's default
    try:
        patches.set_data_autotune(False)
        patches.set_data_autotune(False)  # twice: wrapped once
        assert not _pipeline_autotunes()
        history_off, weights_off = _seeded_fit()
        patches.set_data_autotune(True)
        assert _pipeline_autotunes()
        history_on, weights_on = _seeded_fit()
    finally:
        patches.set_data_autotune(True)
    assert history_off == history_on
    assert len(history_off["val_loss"]) == 3
    for off, on in zip(weights_off, weights_on, strict=True):
        np.testing.assert_array_equal(off, on)


def test_warm_up_applies_the_data_autotune_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from horn.settings import get_worker_settings as get_settings

    try:
        monkeypatch.delenv("HORN_DATA_AUTOTUNE", raising=False)
        get_settings.cache_clear()
        startup.warm_up()
        assert not _pipeline_autotunes()
        monkeypatch.setenv("HORN_DATA_AUTOTUNE", "1")
        get_settings.cache_clear()
        startup.warm_up()
        assert _pipeline_autotunes()
    finally:
        patches.set_data_autotune(True)
        get_settings.cache_clear()
