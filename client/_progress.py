"""Keras's progress bar, drawn in the user's terminal from the worker's events.

The output is Keras 3's `Progbar` format: `Epoch 1/5`, then
`1688/1688 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - accuracy: 0.9100 - loss: 0.3000`,
updated in place with `verbose=1`; one line per epoch with `verbose=2`. Times are
the worker's (sent with each event), not the network's.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO


def _dynamic_display(stream: TextIO) -> bool:
    return bool((hasattr(stream, "isatty") and stream.isatty())
                or "ipykernel" in sys.modules or "posix" in sys.modules
                or "PYCHARM_HOSTED" in os.environ)


def format_value(value: Any) -> str:
    """A metric value as Keras prints it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f" {value}"
    if abs(number) > 1e-3 or math.isnan(number) or math.isinf(number):
        return f" {number:.4f}"
    return f" {number:.4e}"


def format_time_per_unit(seconds: float, unit: str = "step") -> str:
    """`2ms/step`, `1s/step`, `850us/step` as Keras writes them (with a leading space)."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1000.0:.0f}ms/{unit}"
    return f" {seconds * 1000000.0:.0f}us/{unit}"


def format_eta(eta: float) -> str:
    """Remaining time as Keras writes it."""
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


class Progbar:
    """One progress bar (one epoch, or one evaluate/predict pass).

    Args:
        target: total steps, or None when unknown.
        verbose: 1 (live bar) or 2 (one line at the end).
        stream: where to write (standard output by default).
        width: bar width in characters.
    """

    def __init__(self, target: int | None, verbose: int = 1, stream: TextIO | None = None,
                 width: int = 20) -> None:
        self.target = target
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.width = width
        self._dynamic = _dynamic_display(self.stream)
        self._prev_width = 0
        self._first_step_time: float | None = None
        self.finished = False

    def _time_per_step(self, current: int, elapsed: float, first_step: float | None) -> float:
        if not current:
            return 0.0
        if first_step is not None and current > 1:
            return (elapsed - first_step) / (current - 1)
        return elapsed / current

    def update(self, current: int, logs: Mapping[str, Any] | None, elapsed: float,
               finalize: bool = False) -> None:
        """Draw the bar at step `current`, `elapsed` seconds into the pass."""
        if self.finished:
            return
        if current == 1 and self._first_step_time is None:
            self._first_step_time = elapsed
        per_step = self._time_per_step(current, elapsed, self._first_step_time)
        logs = logs or {}
        if self.verbose == 1:
            self._draw(current, logs, elapsed, per_step, finalize)
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            info = f"%{digits}d/%d - {elapsed:.0f}s -" % (current, self.target)
            info += format_time_per_unit(per_step)
            info += "".join(f" - {k}:{format_value(v)}" for k, v in logs.items())
            self.stream.write(info + "\n")
            self.stream.flush()
        if finalize:
            self.finished = True

    def _draw(self, current: int, logs: Mapping[str, Any], elapsed: float, per_step: float,
              finalize: bool) -> None:
        message = ("\b" * self._prev_width + "\r") if self._dynamic else "\n"
        special = 0
        if self.target:
            digits = int(math.log10(self.target)) + 1
            bar = f"\x1b[1m{f'%{digits}d/%d' % (current, self.target)}\x1b[0m "
            special += 8
            filled = int(self.width * min(1.0, current / self.target))
            if filled > 0:
                bar += f"\33[32m{'━' * filled}\x1b[0m"
                special += 9
            bar += f"\33[37m{'━' * (self.width - filled)}\x1b[0m"
            special += 9
        else:
            bar = "%7d/Unknown" % current
        if self.target and not finalize:
            info = f" \x1b[1m{format_eta(per_step * (self.target - current))}\x1b[0m"
        else:
            info = f" \x1b[1m{elapsed:.0f}s\x1b[0m"
        special += 8
        info += format_time_per_unit(per_step)
        info += "".join(f" - {k}:{format_value(v)}" for k, v in logs.items())
        width = len(bar) + len(info) - special
        message += bar + info
        if self._prev_width > width:
            message += " " * (self._prev_width - width)
        if finalize:
            message += "\n"
        self.stream.write(message)
        self.stream.flush()
        self._prev_width = width
