"""Worker logs are JSON lines carrying the job id; worker settings reach Keras."""

from __future__ import annotations

import json
import logging

import pytest

from horn.settings import get_worker_settings as get_settings
from horn.worker.logs import JobContextFilter, JsonFormatter, job_log_context


def _line(logger: logging.Logger, message: str, **extra: object) -> dict[str, object]:
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, (), None,
                               extra=extra or None)
    JobContextFilter().filter(record)
    parsed: dict[str, object] = json.loads(JsonFormatter().format(record))
    return parsed


def test_every_line_inside_a_job_carries_its_id() -> None:
    logger = logging.getLogger("horn.worker.some.module")
    with job_log_context("job-123"):
        inside = _line(logger, "epoch %d done" % 3, devices=["/CPU:0"])
    outside = _line(logger, "idle")
    assert inside["job_id"] == "job-123" and inside["message"] == "epoch 3 done"
    assert inside["devices"] == ["/CPU:0"] and inside["level"] == "INFO"
    assert inside["logger"] == "horn.worker.some.module"
    assert outside["job_id"] is None


def test_strategy_scope_and_mixed_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    keras = pytest.importorskip("keras")
    runtime = pytest.importorskip("horn.worker.runtime")
    monkeypatch.setenv("HORN_MIXED_PRECISION", "1")
    get_settings.cache_clear()
    try:
        keras.backend.clear_session()  # what each job does first; it resets the policy
        with runtime.strategy_scope():
            layer = keras.layers.Dense(2)
            assert keras.mixed_precision.global_policy().name == "mixed_float16"
            assert layer.compute_dtype == "float16" and layer.variable_dtype == "float32"
        monkeypatch.setenv("HORN_MIXED_PRECISION", "0")
        monkeypatch.setenv("HORN_DISTRIBUTE", "mirrored")
        get_settings.cache_clear()
        keras.mixed_precision.set_global_policy("float32")
        tf = pytest.importorskip("tensorflow")
        with runtime.strategy_scope():
            assert isinstance(tf.distribute.get_strategy(), tf.distribute.MirroredStrategy)
        assert not isinstance(tf.distribute.get_strategy(), tf.distribute.MirroredStrategy)
    finally:
        keras.mixed_precision.set_global_policy("float32")
        get_settings.cache_clear()


def test_epoch_timer_observes_each_epoch() -> None:
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    from prometheus_client import REGISTRY

    from horn.worker import metrics

    before = REGISTRY.get_sample_value("horn_worker_epoch_duration_seconds_count") or 0.0
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((8, 3)), np.zeros((8, 1)), epochs=3, verbose=0,
              callbacks=[metrics.epoch_timer()])
    after = REGISTRY.get_sample_value("horn_worker_epoch_duration_seconds_count")
    assert after == before + 3
