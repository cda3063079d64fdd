"""The evaluate kind: Keras's `Model.evaluate`, its logs in Keras's order."""

from __future__ import annotations

from typing import Any

from horn.worker import runtime
from horn.worker.events import clean_logs
from horn.worker.progress import ProgressCallback
from horn.worker.tasks.context import JobContext
from horn.worker.tasks.outcome import Outcome


def run(ctx: JobContext) -> Outcome:
    """Evaluate the job's model on its data.

    Raises:
        LeaseLost: another worker took the job over; nothing must be written.
    """
    version = ctx.keep_initial_weights()
    return ctx.ending(_evaluate(ctx.model, ctx.args, ctx.arrays, ctx.progress), version)


def _evaluate(model: Any, args: dict[str, Any], arrays: dict[str, Any],
              progress: ProgressCallback) -> dict[str, Any]:
    logs = model.evaluate(arrays["x"], arrays.get("y"), batch_size=args.get("batch_size"),
                          verbose=0, sample_weight=arrays.get("sample_weight"),
                          steps=args.get("steps"), callbacks=[progress], return_dict=True)
    cleaned = clean_logs(logs)
    return {"logs": cleaned, "order": runtime.metric_names_in_order(model, cleaned)}
