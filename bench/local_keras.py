"""Plain Keras in a process of its own: the reference horn is compared with.

`LocalKeras` starts `python -m bench.local_keras` once (TensorFlow on the CPU, imported
there, never in the bench process) and sends it commands as JSON lines; the child
times the Keras calls themselves and answers with a `RESULT {...}` line.

Commands:
- `fit`: {model, x, y (paths of `.npy` files), epochs, batch_size, repeats,
  autotune (optional, default true)} -> {"seconds": [...], "cpu_seconds": [...]} —
  wall time and CPU time (all threads) of each `model.fit` call, a fresh seeded model
  each time, after one untimed warm-up fit of two steps. `autotune: false` turns
  tf.data's autotuner off for Keras's pipelines during the command, as horn's worker
  does (`horn.worker.patches.set_data_autotune`); Keras's own otherwise.
- `sensitivity`: {model, x, y, epochs, batch_size, pairs, period, busy} ->
  {"quiet": [...], "loaded": [...]} — wall time of `model.fit` alone and with a light
  periodic load in another process (`bench.load`), alternating, a fresh seeded model
  each time.
- `batches`: {model, calls, batch_size, pause_s} -> {"train": [...], "predict": [...]}
  — seconds of each `train_on_batch` and `predict_on_batch` call, after warm-up calls;
  back to back, or with a pause of `pause_s` before each call (untimed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from tests.integration import stack as procs

PREFIX = "RESULT "


class LocalKeras:
    """A long-lived local Keras process (started on first use)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self._proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        env = dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="",
                   TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
        handle = open(self.log, "w")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen([procs.python(), "-m", "bench.local_keras"], cwd=procs.ROOT,
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=handle, text=True, bufsize=1)

    def start(self) -> None:
        """Start the child now (it imports TensorFlow while other things start)."""
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()

    def call(self, command: str, **args: Any) -> dict[str, Any]:
        """Run one command in the child and return its answer.

        Raises:
            RuntimeError: the child failed (its log says why).
        """
        self.start()
        assert self._proc is not None
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"command": command, **args}) + "\n")
        self._proc.stdin.flush()
        for line in self._proc.stdout:
            if line.startswith(PREFIX):
                answer: dict[str, Any] = json.loads(line[len(PREFIX):])
                if "error" in answer:
                    raise RuntimeError(f"local Keras failed: {answer['error']}")
                return answer
        raise RuntimeError(f"local Keras exited ({self._proc.poll()}); see {self.log}")

    def close(self) -> None:
        """Stop the child."""
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


# --- the child ------------------------------------------------------------------------

def _warm_data(keras: Any, args: dict[str, Any]) -> tuple[Any, Any]:
    """The command's arrays, after one untimed warm-up fit of two steps."""
    import numpy as np

    from bench import models

    x, y = np.load(args["x"]), np.load(args["y"])
    warm = models.build(keras, args["model"], models.SEED)
    warm.fit(x, y, epochs=1, batch_size=args["batch_size"], steps_per_epoch=2, verbose=0)
    return x, y


def _timed_fit(keras: Any, args: dict[str, Any], x: Any, y: Any) -> tuple[float, float]:
    """Wall and CPU seconds of one `fit` of a fresh seeded model."""
    from bench import models

    model = models.build(keras, args["model"], models.SEED)
    began, cpu_began = time.perf_counter(), _cpu_seconds()
    model.fit(x, y, epochs=args["epochs"], batch_size=args["batch_size"], verbose=0)
    return time.perf_counter() - began, _cpu_seconds() - cpu_began


def _fit(keras: Any, args: dict[str, Any]) -> dict[str, Any]:
    from horn.worker.patches import set_data_autotune

    autotune = bool(args.get("autotune", True))
    set_data_autotune(autotune)
    try:
        x, y = _warm_data(keras, args)
        timings = [_timed_fit(keras, args, x, y) for _ in range(int(args["repeats"]))]
    finally:
        set_data_autotune(True)
    return {"seconds": [wall for wall, _ in timings], "cpu_seconds": [cpu for _, cpu in timings]}


def _sensitivity(keras: Any, args: dict[str, Any]) -> dict[str, Any]:
    from bench.load import periodic_load

    x, y = _warm_data(keras, args)
    timings: dict[str, list[float]] = {"quiet": [], "loaded": []}
    for pair in range(int(args["pairs"])):
        for kind in ("quiet", "loaded") if pair % 2 == 0 else ("loaded", "quiet"):
            if kind == "quiet":
                timings[kind].append(_timed_fit(keras, args, x, y)[0])
            else:
                with periodic_load(float(args["period"]), float(args["busy"])):
                    timings[kind].append(_timed_fit(keras, args, x, y)[0])
    return timings


def _cpu_seconds() -> float:
    """CPU seconds (user and system, all threads) this process has used."""
    times = os.times()
    return times.user + times.system


def _batches(keras: Any, args: dict[str, Any]) -> dict[str, Any]:
    from bench import models

    model = models.build(keras, args["model"])
    x, y = models.data(args["model"], int(args["batch_size"]))
    for _ in range(5):
        model.train_on_batch(x, y)
        model.predict_on_batch(x)
    pause = float(args.get("pause_s", 0.0))
    timings: dict[str, list[float]] = {"train": [], "predict": []}
    for _ in range(int(args["calls"])):
        if pause:
            time.sleep(pause)
        began = time.perf_counter()
        model.train_on_batch(x, y)
        timings["train"].append(time.perf_counter() - began)
    for _ in range(int(args["calls"])):
        if pause:
            time.sleep(pause)
        began = time.perf_counter()
        model.predict_on_batch(x)
        timings["predict"].append(time.perf_counter() - began)
    return timings


def _answer(out: IO[str], body: dict[str, Any]) -> None:
    out.write(PREFIX + json.dumps(body) + "\n")
    out.flush()


def main() -> None:
    """Serve commands from stdin until it closes."""
    import keras

    commands = {"fit": _fit, "batches": _batches, "sensitivity": _sensitivity}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            _answer(sys.stdout, commands[request.pop("command")](keras, request))
        except Exception as exc:  # reported to the bench, which raises it
            _answer(sys.stdout, {"error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
