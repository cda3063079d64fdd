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
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine

from horn.schemas.tree import Path, map_leaves_with_path
from horn.server.store import sessions as store
from horn.server.store.db import transaction
from horn.server.store.relay import SESSION_ENDED, WorkerRelay, uses_redis
from horn.worker import runtime
from horn.worker.events import clean_logs
from horn.worker.heartbeat import Heartbeat

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

    def keep(path: Path, value: Any) -> str:
        key = ".".join(map(str, path))  # e.g. `out.0.logits`
        arrays[key] = np.asarray(value)
        return key

    structure = map_leaves_with_path(keep, outputs, ("out",))
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


@dataclass
class Call:
    """One call to answer, from Redis (`token`) or from the database (`call_id`)."""

    op: str
    args: dict[str, Any]
    payload: bytes | None
    token: str | None = None
    call_id: int | None = None


class CallSource:
    """Where a session's calls come from and its answers go: the Redis relay where the
    broker is Redis (blocking pops, no polling), and the database table in any case
    (large batches, and the embedded mode)."""

    DB_LOOK_EVERY = 1.0
    """Seconds between two looks at the database while Redis brings the calls."""

    def __init__(self, engine: Engine, job_id: str, relay: WorkerRelay | None) -> None:
        self.engine = engine
        self.job_id = job_id
        self.relay = relay
        self._last_db_look = 0.0

    def next(self, active: bool) -> Call | None:
        """The next call, waiting briefly (longer when the session has been idle)."""
        if self.relay is not None:
            got = self.relay.pop(timeout=0.25 if active else 0.5)
            if got is not None and "db_call" not in got[0]:
                header, payload = got
                return Call(str(header["op"]), dict(header.get("args") or {}), payload,
                            token=str(header["token"]))
            if got is None and time.monotonic() - self._last_db_look < self.DB_LOOK_EVERY:
                return None
        call = self._from_db()
        if call is None and self.relay is None:
            time.sleep(0.002 if active else 0.02)
        return call

    def _from_db(self) -> Call | None:
        self._last_db_look = time.monotonic()
        with transaction(self.engine) as session:
            row = store.next_call(session, self.job_id)
            if row is None:
                return None
            return Call(row.op, dict(row.args or {}), row.payload, call_id=int(row.id))

    def answer(self, call: Call, status: str, result: dict[str, Any] | None,
               output: bytes | None) -> None:
        """Send a call's answer back the way it came."""
        if call.token is not None and self.relay is not None:
            self.relay.answer(call.token, {"status": status, **(result or {})}, output or b"")
            return
        assert call.call_id is not None
        with transaction(self.engine) as session:
            store.answer(session, call.call_id, status, result, output)

    def fail_pending(self) -> None:
        """Answer every call still queued: the session is ending."""
        error = {"error": {"type": "RuntimeError", "bases": ["RuntimeError"],
                           "message": SESSION_ENDED}}
        if self.relay is not None:
            for header, _ in self.relay.drain():
                if "token" in header:
                    self.relay.answer(str(header["token"]), {"status": store.FAILED, **error})
        with transaction(self.engine) as session:
            store.fail_pending(session, self.job_id, SESSION_ENDED)

    def close(self) -> None:
        """Release the Redis connection."""
        if self.relay is not None:
            self.relay.close()


def serve(engine: Engine, job_id: str, queue: str, model: Any, heartbeat: Heartbeat,
          args: dict[str, Any], save_weights: Callable[[], int],
          describe_error: Callable[[BaseException], dict],
          broker_url: str = "") -> tuple[int, int | None]:
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
    source = CallSource(engine, job_id,
                        WorkerRelay(broker_url, job_id) if uses_redis(broker_url) else None)
    try:
        while not heartbeat.should_stop:
            call = source.next(active=time.monotonic() - last_call < 1.0)
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
                continue
            last_call = now
            if call.op == "close":
                if dirty_since is not None:
                    version, dirty_since = save_weights(), None
                source.answer(call, store.DONE, {"weights_version": version}, None)
                answered += 1
                break
            try:
                if call.op == "load_weights":
                    result, output = load_weights(model, call.payload or b""), None
                else:
                    result, output = run_call(model, call.op, call.args, unpack(call.payload))
            except Exception as exc:
                source.answer(call, store.FAILED, {"error": describe_error(exc)}, None)
            else:
                source.answer(call, store.DONE, result, output)
                if call.op in ("train", "load_weights") and dirty_since is None:
                    dirty_since = time.monotonic()
            answered += 1
    finally:
        try:
            if dirty_since is not None and not heartbeat.lost:
                version = save_weights()
        finally:
            source.fail_pending()
            source.close()
    return answered, version
