"""The acceptance suite: complete Keras programs run by plain Keras and on horn.

Each script in `programs/` is an ordinary Keras 3 script. It runs twice, each time in a
subprocess with a fresh temporary directory as its working directory:

* with plain Keras (TensorFlow on this machine's CPU), as written;
* on horn, after rewriting only its import lines (`rewrite.to_horn`), against the
  integration stack (`horn_stack`). In that run `keras` and `tensorflow` cannot be
  imported at all, so nothing can silently run locally.

Both runs must exit 0 and print the script's `RESULT {json}` line. The figures in it
must be comparable, with tolerances per script chosen for what a user would notice
(an accuracy 0.1 apart, a loss that did not go down), and the horn run must print what
Keras printed: the progress bar, the `Epoch k/N` lines and `summary()`'s parameter
counts. `test_seeded_history_matches_plain_keras` asks more of the seeded scripts: the
same `History` as plain Keras, to float precision.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Stack
from tests.integration import stack
from tests.keras_programs.rewrite import to_horn

pytestmark = pytest.mark.integration

PROGRAMS_DIR = Path(__file__).parent / "programs"
PROGRAMS = sorted(path.stem for path in PROGRAMS_DIR.glob("*.py"))
TIMEOUT = 300.0
PROGRESS_BAR = "━"
RESULT_PREFIX = "RESULT "

Result = dict[str, Any]

# Shadows `keras` and `tensorflow` in the horn run: the rewritten script must not need them.
_BLOCKED = '''raise ImportError(
    "{name} was imported by a script running on horn: only the SDK (`horn`) may be used")
'''


@dataclass
class Run:
    """One finished run of a script."""

    label: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    cwd: Path

    def __repr__(self) -> str:
        return f"Run({self.label!r}, exit {self.returncode}, {self.seconds:.1f}s)"

    @property
    def result(self) -> Result:
        """The JSON of the script's last `RESULT` line."""
        lines = [line for line in self.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        assert lines, f"{self.label}: no {RESULT_PREFIX!r} line\n{self.describe()}"
        parsed: Result = json.loads(lines[-1][len(RESULT_PREFIX):])
        return parsed

    def describe(self, tail: int = 6000) -> str:
        """The end of the run's output, for assertion messages."""
        return (f"--- {self.label}: exit {self.returncode} after {self.seconds:.1f}s, "
                f"cwd {self.cwd}\n--- stdout (end)\n{self.stdout[-tail:]}\n"
                f"--- stderr (end)\n{self.stderr[-tail:]}")


@dataclass
class Pair:
    """The same program run by plain Keras and on horn."""

    name: str
    plain: Run
    horn: Run


def _run(label: str, script: Path, cwd: Path, env: dict[str, str]) -> Run:
    started = time.monotonic()
    try:
        done = subprocess.run([stack.python(), str(script)], cwd=cwd, env=env, text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        returncode = -9
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        stderr = (exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or "")
        stderr += f"\n[killed after {TIMEOUT:.0f}s]"
    return Run(label, returncode, stdout, stderr, time.monotonic() - started, cwd)


def plain_env() -> dict[str, str]:
    """Plain Keras on TensorFlow, on the CPU, quiet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORN_")}
    env.update(KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONUNBUFFERED="1")
    return env


def horn_env(horn_stack: Stack, blocked: Path) -> dict[str, str]:
    """The SDK pointed at the test stack; `keras` and `tensorflow` made unimportable."""
    for name in ("keras", "tensorflow"):
        (blocked / name).mkdir(parents=True, exist_ok=True)
        (blocked / name / "__init__.py").write_text(_BLOCKED.format(name=name))
    env = dict(horn_stack.env, HORN_URL=horn_stack.url, HORN_API_KEY=horn_stack.api_key,
               PYTHONPATH=str(blocked), PYTHONUNBUFFERED="1")
    env.pop("KERAS_BACKEND", None)
    return env


def run_both(name: str, horn_stack: Stack, workdir: Path) -> Pair:
    """Run programs/NAME.py with plain Keras and, rewritten, on horn, side by side."""
    source = (PROGRAMS_DIR / f"{name}.py").read_text()
    plain_dir, horn_dir = workdir / "plain", workdir / "horn"
    plain_dir.mkdir()
    horn_dir.mkdir()
    plain_script = plain_dir / f"{name}.py"
    plain_script.write_text(source)
    horn_script = horn_dir / f"{name}.py"
    horn_script.write_text(to_horn(source))
    with ThreadPoolExecutor(max_workers=2) as pool:
        plain = pool.submit(_run, "plain Keras", plain_script, plain_dir, plain_env())
        horn = pool.submit(_run, "horn", horn_script, horn_dir,
                           horn_env(horn_stack, workdir / "blocked"))
        return Pair(name, plain.result(), horn.result())


@pytest.fixture(scope="module")
def runs(horn_stack: Stack, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Callable[[str], Pair]]:
    """Runs each program once (both ways) however many tests look at it."""
    done: dict[str, Pair] = {}

    def get(name: str) -> Pair:
        if name not in done:
            done[name] = run_both(name, horn_stack, tmp_path_factory.mktemp(name))
        return done[name]

    yield get


# --- comparisons -------------------------------------------------------------------

def within(what: str, plain: float, horn: float, *, abs_tol: float = 0.0,
           rel_tol: float = 0.0) -> None:
    """Assert two figures are close: |plain - horn| <= max(abs_tol, rel_tol * |plain|)."""
    assert math.isfinite(plain) and math.isfinite(horn), f"{what}: {plain} vs {horn}"
    allowed = max(abs_tol, rel_tol * abs(plain))
    assert abs(plain - horn) <= allowed, (
        f"{what}: plain Keras {plain:.4f}, horn {horn:.4f} (allowed difference {allowed:.4f})")


def at_least(what: str, floor: float, **values: float) -> None:
    """Assert every run reached `floor` (proof that it learned)."""
    for label, value in values.items():
        assert value >= floor, f"{what} of the {label} run is {value:.4f}, below {floor}"


def at_most(what: str, ceiling: float, **values: float) -> None:
    """Assert every run stayed under `ceiling`."""
    for label, value in values.items():
        assert value <= ceiling, f"{what} of the {label} run is {value:.4f}, above {ceiling}"


def last(result: Result, key: str) -> float:
    """The last epoch's value of `key` in the result's History."""
    value: float = result["history"][key][-1]
    return value


def check_mlp_tabular(p: Result, h: Result) -> None:
    """Test accuracy, precision and recall of the class-weighted MLP."""
    for key in ("accuracy", "precision", "recall"):
        within(f"test {key}", p["test"][key], h["test"][key], abs_tol=0.1)
    within("test loss", p["test"]["loss"], h["test"]["loss"], rel_tol=0.25)
    at_least("test accuracy", 0.75, plain=p["test"]["accuracy"], horn=h["test"]["accuracy"])
    # Without the class weights recall would be low; with them it is high.
    at_least("test recall", 0.65, plain=p["test"]["recall"], horn=h["test"]["recall"])
    within("accuracy from predict", p["test_accuracy_from_predict"],
           h["test_accuracy_from_predict"], abs_tol=0.1)
    within("predict agrees with evaluate (horn)", h["test"]["accuracy"],
           h["test_accuracy_from_predict"], abs_tol=0.01)


def check_convnet_images(p: Result, h: Result) -> None:
    """Test accuracy of the convnet on 28x28 digits."""
    within("test accuracy", p["test_accuracy"], h["test_accuracy"], abs_tol=0.1)
    within("test loss", p["test_loss"], h["test_loss"], abs_tol=0.1, rel_tol=0.5)
    at_least("test accuracy", 0.85, plain=p["test_accuracy"], horn=h["test_accuracy"])


def check_lstm_seq2seq(p: Result, h: Result) -> None:
    """Per-digit accuracy of the sequence reversal (chance: 0.1)."""
    within("validation accuracy", p["val_accuracy"], h["val_accuracy"], abs_tol=0.1)
    within("validation loss", p["val_loss"], h["val_loss"], rel_tol=0.2)
    at_least("validation accuracy", 0.4, plain=p["val_accuracy"], horn=h["val_accuracy"])
    for label, result in (("plain", p), ("horn", h)):
        losses = result["history"]["loss"]
        assert losses[-1] < 0.7 * losses[0], f"{label}: the loss barely fell: {losses}"


def check_text_bilstm(p: Result, h: Result) -> None:
    """Validation accuracy of the bidirectional LSTM on the reviews."""
    within("validation accuracy", p["val_accuracy"], h["val_accuracy"], abs_tol=0.1)
    at_least("validation accuracy", 0.8, plain=p["val_accuracy"], horn=h["val_accuracy"])
    at_most("validation loss", 0.5, plain=p["val_loss"], horn=h["val_loss"])


def check_conv1d_timeseries(p: Result, h: Result) -> None:
    """The reloaded best checkpoint's test figures; the learning rate in the History."""
    within("test accuracy (best checkpoint)", p["test_accuracy"], h["test_accuracy"],
           abs_tol=0.15)
    at_least("test accuracy (best checkpoint)", 0.7, plain=p["test_accuracy"],
             horn=h["test_accuracy"])
    for label, result in (("plain", p), ("horn", h)):
        assert "learning_rate" in result["history"], f"{label}: {sorted(result['history'])}"
        # The file ModelCheckpoint kept is the best epoch's model, so its loss on the
        # held-out series is in line with the best validation loss.
        within(f"{label}: test loss of the checkpoint vs best val_loss",
               result["best_val_loss"], result["test_loss"], abs_tol=0.15, rel_tol=0.5)


def check_conv_autoencoder(p: Result, h: Result) -> None:
    """Both fits, and the denoising the second one taught."""
    for label, result in (("plain", p), ("horn", h)):
        first, second = result["history"]["loss"], result["second_history"]["loss"]
        # The second fit continues from the first one's weights.
        assert second[0] < first[0] * 0.5, f"{label}: second fit restarted: {first} {second}"
        assert result["mse_denoised"] < 0.5 * result["mse_noisy"], f"{label}: {result}"
    within("reconstruction loss of noisy input", p["noisy_loss"], h["noisy_loss"],
           rel_tol=0.3)
    within("denoised mean squared error", p["mse_denoised"], h["mse_denoised"],
           abs_tol=0.01, rel_tol=0.3)
    assert p["second_epoch"] == h["second_epoch"]


def check_two_in_two_out(p: Result, h: Result) -> None:
    """Both heads: department accuracy and priority error, per output name."""
    assert sorted(p["test"]) == sorted(h["test"])
    within("test department accuracy", p["test"]["department_accuracy"],
           h["test"]["department_accuracy"], abs_tol=0.1)
    within("test priority mae", p["test"]["priority_mae"], h["test"]["priority_mae"],
           abs_tol=0.05)
    within("test loss", p["test"]["loss"], h["test"]["loss"], rel_tol=0.2)
    at_least("test department accuracy", 0.5, plain=p["test"]["department_accuracy"],
             horn=h["test"]["department_accuracy"])
    at_most("test priority mae", 0.15, plain=p["test"]["priority_mae"],
            horn=h["test"]["priority_mae"])
    assert p["predict_keys"] == h["predict_keys"] == ["department", "priority"]
    assert p["predict_shapes"] == h["predict_shapes"]
    within("department accuracy from predict", p["department_accuracy_from_predict"],
           h["department_accuracy_from_predict"], abs_tol=0.1)


def check_train_on_batch_loop(p: Result, h: Result) -> None:
    """The manual loop's validation accuracy after each epoch and its return values."""
    assert len(p["log"]) == len(h["log"])
    within("final validation accuracy", p["log"][-1]["val_accuracy"],
           h["log"][-1]["val_accuracy"], abs_tol=0.1)
    within("final validation loss", p["log"][-1]["val_loss"], h["log"][-1]["val_loss"],
           rel_tol=0.25)
    at_least("final validation accuracy", 0.7, plain=p["log"][-1]["val_accuracy"],
             horn=h["log"][-1]["val_accuracy"])
    for label, result in (("plain", p), ("horn", h)):
        losses = [epoch["loss"] for epoch in result["log"]]
        assert losses == sorted(losses, reverse=True), f"{label}: loss not falling: {losses}"
    assert p["return_dict_keys"] == h["return_dict_keys"]
    within("accuracy from predict_on_batch", p["predict_accuracy"], h["predict_accuracy"],
           abs_tol=0.1)


CHECKS: dict[str, Callable[[Result, Result], None]] = {
    "mlp_tabular": check_mlp_tabular,
    "convnet_images": check_convnet_images,
    "lstm_seq2seq": check_lstm_seq2seq,
    "text_bilstm": check_text_bilstm,
    "conv1d_timeseries": check_conv1d_timeseries,
    "conv_autoencoder": check_conv_autoencoder,
    "two_in_two_out": check_two_in_two_out,
    "train_on_batch_loop": check_train_on_batch_loop,
}

# Every script seeds itself with `keras.utils.set_random_seed` before it draws its data
# and builds its model, so on horn's CPU worker it must give plain Keras's figures to
# float precision: the first `fit`'s History, or the manual loop's log. (text_bilstm and
# train_on_batch_loop draw with `np.random`, which that seed must also seed on horn.)
SEEDED = {name: "log" if name == "train_on_batch_loop" else "history" for name in PROGRAMS}

# Early stopping may end the two runs at different epochs.
VARIABLE_EPOCHS = {"conv1d_timeseries"}

_EPOCH_LINE = re.compile(r"^Epoch \d+/\d+$", re.MULTILINE)
_PARAMS_LINE = re.compile(r"(Total|Trainable|Non-trainable) params: [\d,]+")


def check_output(pair: Pair) -> None:
    """The horn run printed what plain Keras printed: bar, epochs, parameter counts."""
    plain, horn = pair.plain.stdout, pair.horn.stdout
    if PROGRESS_BAR in plain:
        assert PROGRESS_BAR in horn, f"no progress bar on horn\n{pair.horn.describe()}"
    plain_epochs, horn_epochs = _EPOCH_LINE.findall(plain), _EPOCH_LINE.findall(horn)
    if pair.name in VARIABLE_EPOCHS:
        assert bool(plain_epochs) == bool(horn_epochs)
        if plain_epochs:
            assert plain_epochs[0] == horn_epochs[0]
    else:
        assert plain_epochs == horn_epochs
    assert _PARAMS_LINE.findall(plain) == _PARAMS_LINE.findall(horn)


def check_history_shape(pair: Pair) -> None:
    """Same History keys, epochs and params in both runs."""
    p, h = pair.plain.result, pair.horn.result
    for key in ("history", "second_history"):
        if key in p:
            assert sorted(p[key]) == sorted(h[key]), f"{key} keys differ"
    if pair.name not in VARIABLE_EPOCHS and "epoch" in p:
        assert p["epoch"] == h["epoch"]
    if "params" in p:
        assert p["params"] == h["params"]
    if "predict_shape" in p:
        assert p["predict_shape"] == h["predict_shape"]


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_runs_on_horn_like_on_keras(name: str, runs: Callable[[str], Pair]) -> None:
    """The script succeeds both ways and reaches comparable figures."""
    pair = runs(name)
    assert pair.plain.returncode == 0, pair.plain.describe()
    assert pair.horn.returncode == 0, pair.horn.describe()
    p, h = pair.plain.result, pair.horn.result
    print(f"\n{name}: plain Keras {pair.plain.seconds:.1f}s, horn {pair.horn.seconds:.1f}s")
    for label, result in (("plain", p), ("horn", h)):
        figures = {k: v for k, v in result.items() if not k.endswith("history")}
        print(f"  {label}: {json.dumps(figures)}")
    check_history_shape(pair)
    check_output(pair)
    CHECKS[name](p, h)


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seeded_history_matches_plain_keras(name: str, runs: Callable[[str], Pair]) -> None:
    """A seeded script's History on horn's CPU worker is plain Keras's, value by value."""
    pair = runs(name)
    assert pair.plain.returncode == 0, pair.plain.describe()
    assert pair.horn.returncode == 0, pair.horn.describe()
    key = SEEDED[name]
    plain, horn = _series(pair.plain.result[key]), _series(pair.horn.result[key])
    assert sorted(plain) == sorted(horn)
    differences = [
        f"{metric}[epoch {epoch}]: plain {a!r}, horn {b!r}"
        for metric in sorted(plain)
        for epoch, (a, b) in enumerate(zip(plain[metric], horn[metric], strict=True))
        if not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)
    ]
    assert not differences, f"{key} differs:\n" + "\n".join(differences)


def _series(value: dict[str, list[float]] | list[dict[str, float]]) -> dict[str, list[float]]:
    """A History dict as is; a list of per-epoch dicts as a History dict."""
    if isinstance(value, dict):
        return value
    return {key: [epoch[key] for epoch in value] for key in value[0]}


def test_set_random_seed_seeds_numpy_and_python_as_keras_does(tmp_path: Path) -> None:
    """Scripts draw their data with `np.random` after `keras.utils.set_random_seed`;
    horn's `set_random_seed` must seed NumPy and `random` in the script's process, as
    Keras does, or the same script gets different data on horn."""
    script = ("import random\nimport numpy as np\nimport keras\n"
              "keras.utils.set_random_seed(123)\n"
              "print(random.random(), np.random.rand(), np.random.randint(1000))\n")
    plain = subprocess.run([stack.python(), "-c", script], env=plain_env(), cwd=tmp_path,
                           capture_output=True, text=True, timeout=120, check=True)
    horn = subprocess.run([stack.python(), "-c", to_horn(script)], env=plain_env(),
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=True)
    assert horn.stdout == plain.stdout
