"""The inspect kind: what `Model.summary()` prints, and per-layer facts."""

from __future__ import annotations

from typing import Any

import numpy as np

from horn.schemas.api import JobStatus
from horn.worker.tasks.context import JobContext
from horn.worker.tasks.outcome import Outcome


def run(ctx: JobContext) -> Outcome:
    """Describe the job's model; nothing is stored."""
    return Outcome(JobStatus.SUCCEEDED, describe(ctx.model, ctx.args))


def describe(model: Any, options: dict[str, Any]) -> dict[str, Any]:
    """What `model.summary()` prints (Keras's own table, captured), and per-layer facts."""
    lines: list[str] = []

    def capture(line: str, line_break: bool = True) -> None:
        lines.append(line + ("\n" if line_break else ""))

    summary_options = {k: options[k] for k in ("line_length", "positions", "expand_nested",
                                               "show_trainable", "layer_range")
                       if options.get(k) is not None}
    model.summary(print_fn=capture, **summary_options)
    layers = []
    for layer in model.layers:
        try:
            shape = layer.output.shape if hasattr(layer, "output") else None
            output_shape = _shape_list(shape)
        except (AttributeError, ValueError, RuntimeError):
            output_shape = None
        layers.append({"name": layer.name, "class_name": type(layer).__name__,
                       "output_shape": output_shape,
                       "params": int(layer.count_params()) if layer.built else 0})
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return {"summary": "".join(lines), "layers": layers, "built": bool(model.built),
            "weight_shapes": [[int(d) for d in w.shape] for w in model.weights],
            "total_params": trainable + non_trainable, "trainable_params": trainable,
            "non_trainable_params": non_trainable}


def _shape_list(shape: Any) -> Any:
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_shape_list(s) for s in shape]
    return [None if d is None else int(d) for d in shape]
