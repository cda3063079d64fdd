"""The patches of private Keras/TensorFlow internals: applied, with their effect, on the
versions they were written for; on any other version not applied, said once in the log,
and the library's own behaviour kept."""

from __future__ import annotations

import logging

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from horn.worker import patches  # noqa: E402  (after the skips: it needs Keras)


@pytest.fixture(autouse=True)
def _fresh_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "_reported", set())


def _fake_version(monkeypatch: pytest.MonkeyPatch, package: str, version: str) -> None:
    module = keras if package == "keras" else tf
    monkeypatch.setattr(module, "__version__", version)


def _pipeline_autotunes() -> bool:
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    adapter = ArrayDataAdapter(np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32"),
                               batch_size=4, shuffle=True)
    return adapter.get_tf_dataset().options().autotune.enabled is not False


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "not applied" in r.getMessage()]


def test_the_pinned_versions_are_those_pyproject_pins() -> None:
    from pathlib import Path

    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert f'"keras=={patches.KERAS_VERSION}"' in pyproject
    assert f'"tensorflow=={patches.TENSORFLOW_VERSION};' in pyproject


def test_every_patch_applies_on_the_installed_versions(
        caplog: pytest.LogCaptureFixture) -> None:
    if (keras.__version__, tf.__version__) != (patches.KERAS_VERSION,
                                               patches.TENSORFLOW_VERSION):
        pytest.skip("not the pinned Keras and TensorFlow")
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        for patch in (patches.DATA_AUTOTUNE, patches.KEEP_KERNEL_CACHE,
                      patches.CUSTOM_GRADIENTS):
            assert patches.applies(patch)
    assert _refusals(caplog) == []


def test_data_autotune_is_turned_off_on_the_pinned_keras() -> None:
    try:
        patches.set_data_autotune(False)
        assert not _pipeline_autotunes()
    finally:
        patches.set_data_autotune(True)
    assert _pipeline_autotunes()


def test_data_autotune_is_left_on_by_another_keras(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _fake_version(monkeypatch, "keras", "3.16.0")
    try:
        with caplog.at_level(logging.WARNING, logger=patches.__name__):
            patches.set_data_autotune(False)
            patches.set_data_autotune(False)
        assert _pipeline_autotunes()  # Keras's own pipeline
    finally:
        patches.set_data_autotune(True)
    assert _refusals(caplog) == [
        "patch data_autotune written for keras==3.15.1, found keras 3.16.0: not applied, "
        "Keras's own behaviour"]  # once per process


def test_the_kernel_cache_is_kept_on_the_pinned_versions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorflow.python.eager import context

    cleared: list[object] = []
    monkeypatch.setattr(type(context.context()), "clear_kernel_cache",
                        lambda self: cleared.append(self))
    monkeypatch.setattr(patches, "_kernels_kept", False)
    keras.layers.Dense(1)
    patches.clear_session(keep_kernels=True)
    assert keras.layers.Dense(1).name == "dense"  # Keras's state is cleared
    assert cleared == []  # but not the kernels
    assert patches.empty_kept_kernels()
    assert cleared == [context.context()]
    assert not patches.empty_kept_kernels()  # nothing kept since


@pytest.mark.parametrize(("package", "version"), [("keras", "3.16.0"),
                                                  ("tensorflow", "2.22.0")])
def test_the_kernel_cache_is_emptied_by_another_version(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        package: str, version: str) -> None:
    from tensorflow.python.eager import context

    cleared: list[object] = []
    monkeypatch.setattr(type(context.context()), "clear_kernel_cache",
                        lambda self: cleared.append(self))
    monkeypatch.setattr(patches, "_kernels_kept", False)
    _fake_version(monkeypatch, package, version)
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        patches.clear_session(keep_kernels=True)
        patches.clear_session(keep_kernels=True)
    assert cleared == [context.context()] * 2  # Keras's own clear_session, each time
    assert not patches.empty_kept_kernels()
    assert _refusals(caplog) == [
        "patch keep_kernel_cache written for keras==3.15.1, tensorflow==2.21.0, found "
        f"{package} {version}: not applied, Keras's own behaviour"]


def _trace_a_custom_gradient() -> None:
    @tf.custom_gradient
    def double(x: object) -> object:
        return x * 2, lambda upstream: upstream * 2

    @tf.function
    def step(x: object) -> object:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = double(x)
        return tape.gradient(y, x)

    step(tf.constant(1.0))


def _custom_gradient_entries() -> int:
    from tensorflow.python.framework import ops as tf_ops

    return sum(1 for name in tf_ops._gradient_registry._registry
               if str(name).startswith("CustomGradient-"))


def test_custom_gradients_are_forgotten_on_the_pinned_tensorflow() -> None:
    _trace_a_custom_gradient()
    assert _custom_gradient_entries() > 0
    assert patches.forget_custom_gradients() > 0
    assert _custom_gradient_entries() == 0


def test_custom_gradients_are_kept_by_another_tensorflow(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _trace_a_custom_gradient()
    before = _custom_gradient_entries()
    assert before > 0
    _fake_version(monkeypatch, "tensorflow", "2.22.0")
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        assert patches.forget_custom_gradients() == 0
    assert _custom_gradient_entries() == before
    assert _refusals(caplog) == [
        "patch forget_custom_gradients written for tensorflow==2.21.0, found tensorflow "
        "2.22.0: not applied, TensorFlow's own behaviour"]
