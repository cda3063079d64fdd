"""The SDK's progress bar prints exactly what Keras's `Progbar` prints."""

from __future__ import annotations

import io
from collections.abc import Iterator
from unittest import mock

import pytest

from horn._progress import Progbar, format_time_per_unit, format_value

STEPS = [(1, 0.40, {"accuracy": 0.1, "loss": 2.31}),
         (5, 0.52, {"accuracy": 0.4, "loss": 1.52}),
         (9, 0.61, {"accuracy": 0.7, "loss": 0.0004}),
         (10, 0.65, {"accuracy": 0.8, "loss": 0.31})]


class _FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now


@pytest.fixture()
def keras_progbar_cls() -> Iterator[tuple[type, _FakeTime]]:
    keras_progbar = pytest.importorskip("keras.src.utils.progbar")
    clock = _FakeTime()
    with mock.patch.object(keras_progbar.time, "time", clock.time):
        yield keras_progbar.Progbar, clock


@pytest.mark.parametrize("verbose", [1, 2])
def test_same_output_as_keras(verbose: int, keras_progbar_cls: tuple[type, _FakeTime],
                              capsys: pytest.CaptureFixture[str]) -> None:
    keras_cls, clock = keras_progbar_cls
    theirs = keras_cls(target=10, verbose=verbose, stateless_metrics=set())
    for step, elapsed, logs in STEPS:
        clock.now = 1000.0 + elapsed
        theirs.update(step, list(logs.items()), finalize=step == 10)
    expected = capsys.readouterr().out

    stream = io.StringIO()
    ours = Progbar(10, verbose=verbose, stream=stream)
    ours._dynamic = True  # Keras decides this from sys.modules; "posix" is always there
    for step, elapsed, logs in STEPS:
        ours.update(step, logs, elapsed, finalize=step == 10)
    assert stream.getvalue() == expected
    assert expected  # Keras printed something to compare with


def test_value_and_time_formats() -> None:
    assert format_value(0.30004) == " 0.3000"
    assert format_value(0.0004) == " 4.0000e-04"
    assert format_value(float("nan")) == " nan"
    assert format_time_per_unit(0.002) == " 2ms/step"
    assert format_time_per_unit(0.0000512) == " 51us/step"
    assert format_time_per_unit(3.2) == " 3s/step"


def test_unknown_target_and_finalize_once() -> None:
    stream = io.StringIO()
    bar = Progbar(None, verbose=1, stream=stream)
    bar.update(3, {"loss": 1.0}, 0.3)
    assert "      3/Unknown" in stream.getvalue()
    bar.update(3, {"loss": 1.0}, 0.3, finalize=True)
    written = stream.getvalue()
    bar.update(4, {"loss": 1.0}, 0.4)
    assert stream.getvalue() == written
