"""A manual-batch session: keep one model loaded and answer `train_on_batch`,
`test_on_batch` and `predict_on_batch` calls in order, fast.

Weights are written back to the database (a new weights version) `flush_interval`
seconds after the last training call, when the client closes the session (it does so
before `fit`, `evaluate`, `predict`, `get_weights`, `set_weights`, `summary` and at
exit), and when the session ends after `idle_timeout` seconds without a call. A worker
crash loses at most the training calls of the last `flush_interval` seconds; the calls
in flight fail and the SDK opens a new session from the last stored weights.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import Engine

from server.store import sessions as store
from server.store.db import transaction
from worker import runtime
from worker.events import clean_logs
from worker.heartbeat import Heartbeat

log = logging.getLogger(__name__)


def unpack(payload: bytes | None) -> dict[str, Any]:
    """The arrays of a call: `x`, `y`, `sample_weight` (lists/dicts for `x/<key>`)."""
    if not payload:
        return {}
    parts: dict[str, Any] = {}
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        for name in archive.files:
            head, _, key = name.partition("/")
            if key:
                parts.setdefault(head, {})[key] = archive[name]
            else:
                parts[head] = archive[name]
    for head, value in list(parts.items()):
        if isinstance(value, dict) and all(k.isdigit() for k in value):
            parts[head] = [value[k] for k in sorted(value, key=int)]
    return parts


def pack(outputs: Any) -> tuple[Any, bytes]:
    """Predictions as an `.npz` and the structure that names its members."""
    arrays: dict[str, np.ndarray] = {}

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{key}.{k}") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{key}.{i}") for i, v in enumerate(value)]
        arrays[key] = np.asarray(value)
        return key

    structure = walk(outputs, "out")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return structure, buffer.getvalue()


def load_weights(model: Any, data: bytes) -> dict[str, Any]:
    """`model.load_weights` from `.weights.h5` bytes (inspected by the server)."""
    runtime.load_weights_file(model, data)
    return {"loaded": True}


def run_call(model: Any, op: str, args: dict[str, Any], arrays: dict[str, Any]
             ) -> tuple[dict[str, Any], bytes | None]:
    """One Keras manual-batch call; returns the answer and, for predict, the outputs."""
    if op == "predict":
        structure, blob = pack(model.predict_on_batch(arrays["x"]))
        return {"outputs": structure}, blob
    if op in ("export", "save_weights"):
        suffix = ".keras" if op == "export" else ".weights.h5"
        with tempfile.TemporaryDirectory(prefix="horn-export-") as tmp:
            path = os.path.join(tmp, "model" + suffix)
            if op == "export":
                model.save(path)
            else:
                model.save_weights(path)
            with open(path, "rb") as handle:
                return {"format": suffix}, handle.read()
    class_weight = args.get("class_weight")
    if op == "train":
        logs = model.train_on_batch(
            arrays.get("x"), arrays.get("y"), sample_weight=arrays.get("sample_weight"),
            class_weight={int(k): v for k, v in class_weight.items()} if class_weight else None,
            return_dict=True)
    else:
        logs = model.test_on_batch(arrays.get("x"), arrays.get("y"),
                                   sample_weight=arrays.get("sample_weight"), return_dict=True)
    cleaned = clean_logs(logs)
    return {"logs": cleaned, "order": runtime.metric_names_in_order(model, cleaned)}, None


YIELD_AFTER = 1.0
"""Seconds without a call after which a session gives its worker to waiting jobs."""


def serve(engine: Engine, job_id: str, queue: str, model: Any, heartbeat: Heartbeat,
          args: dict[str, Any], save_weights: Callable[[], int],
          describe_error: Callable[[BaseException], dict]) -> tuple[int, int | None]:
    """Answer the session's calls until it is closed, idle (`idle_timeout`, or 1 s when
    other jobs wait for this worker) or cancelled.

    Returns:
        The number of calls answered and the last weights version written (if any).
    """
    idle_timeout = float(args.get("idle_timeout", 60.0))
    flush_interval = float(args.get("flush_interval", 5.0))
    answered, version = 0, None
    dirty_since: float | None = None
    last_call = last_look = time.monotonic()
    try:
        while not heartbeat.should_stop:
            with transaction(engine) as session:
                call = store.next_call(session, job_id)
                if call is not None:
                    call_id, op, call_args, payload = call.id, call.op, call.args, call.payload
            now = time.monotonic()
            if call is None:
                if dirty_since is not None and now - dirty_since >= flush_interval:
                    version, dirty_since = save_weights(), None
                if now - last_call > idle_timeout:
                    break
                if now - last_call > YIELD_AFTER and now - last_look > 0.5:
                    last_look = now
                    with transaction(engine) as session:
                        if store.others_waiting(session, queue, job_id):
                            break
                time.sleep(0.0005 if now - last_call < 1.0 else 0.02)
                continue
            last_call = now
            if op == "close":
                if dirty_since is not None:
                    version, dirty_since = save_weights(), None
                _answer(engine, call_id, store.DONE, {"weights_version": version}, None)
                answered += 1
                break
            try:
                if op == "load_weights":
                    result, output = load_weights(model, payload or b""), None
                else:
                    result, output = run_call(model, op, call_args, unpack(payload))
            except Exception as exc:
                _answer(engine, call_id, store.FAILED, {"error": describe_error(exc)}, None)
            else:
                _answer(engine, call_id, store.DONE, result, output)
                if op in ("train", "load_weights") and dirty_since is None:
                    dirty_since = time.monotonic()
            answered += 1
    finally:
        if dirty_since is not None and not heartbeat.lost:
            version = save_weights()
        with transaction(engine) as session:
            store.fail_pending(session, job_id, "The session ended before answering this "
                               "call; the SDK opens a new one.")
    return answered, version


def _answer(engine: Engine, call_id: int, status: str, result: dict[str, Any] | None,
            output: bytes | None) -> None:
    with transaction(engine) as session:
        store.answer(session, call_id, status, result, output)
