"""Manual batches (`train_on_batch`, `test_on_batch`, `predict_on_batch`) through a
session: a job that keeps the model loaded on one warm worker between calls.

The first call opens the session; each call sends its batch as an `.npz` and waits for
the answer. `fit`, `evaluate`, `predict`, `get_weights`, `set_weights`, `summary` and the
end of the process close it, so the worker writes the weights back first.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import io
import json
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from horn import _data, errors
from horn._stream import MAX_MESSAGE_BYTES, CallStream, Closed
from horn.keras.models.follow import evaluate_result
from horn.schemas.api import CallStatus
from horn.schemas.frames import STREAM_OPS
from horn.schemas.tree import map_leaves

if TYPE_CHECKING:
    from horn.keras.models.model import Model

_open: weakref.WeakSet[Model] = weakref.WeakSet()


def _pack(arrays: dict[str, Any]) -> bytes:
    members: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if value is None:
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                members[f"{name}/{key}"] = _data.as_array(item, f"{name}['{key}']")
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, np.ndarray) for v in value):
            for i, item in enumerate(value):
                members[f"{name}/{i}"] = _data.as_array(item, f"{name}[{i}]")
        else:
            members[name] = _data.as_array(value, name)
    _data.check_cardinality(members)
    buffer = io.BytesIO()
    np.savez(buffer, **members)  # type: ignore[arg-type]
    return buffer.getvalue()


def _unpack_outputs(structure: Any, blob: bytes) -> Any:
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return map_leaves(arrays.__getitem__, structure)


@dataclass
class _Session:
    """The model's open session: its job, what the model was when it opened (a
    changed model or compile opens a new one) and its websocket, if one opened."""

    job_id: str
    spec_key: str
    stream: CallStream | None = None
    stream_tried: bool = False


def session(model: Model) -> _Session:
    """The model's open session, opened now if it has none or the model (or its
    compile) changed since."""
    state: _Session | None = model.__dict__.get("_horn_session")
    spec_key = json.dumps([model._spec(), model._compile_id], sort_keys=True)
    if state is not None and state.spec_key == spec_key:
        return state
    close(model)
    from horn.keras.models.training import submit  # training imports this module

    state = _Session(submit(model, "session", {}, {}, {}), spec_key)
    model.__dict__["_horn_session"] = state
    _open.add(model)
    return state


def _forget(model: Model) -> None:
    """Drop the model's session (it ended on the server) and its websocket."""
    state: _Session | None = model.__dict__.pop("_horn_session", None)
    if state is not None and state.stream is not None:
        state.stream.close()


def call(model: Model, op: str, arrays: dict[str, Any], args: dict[str, Any]
         ) -> dict[str, Any]:
    """Run one manual-batch call on the model's session; returns its answer."""
    return _send(model, op, _pack(arrays), args)


def file_call(model: Model, op: str, data: bytes = b"") -> dict[str, Any]:
    """A session call that moves a file: `export`, `save_weights` (the answer carries
    the file) or `load_weights` (the request does)."""
    return _send(model, op, data, {})


def _send(model: Model, op: str, payload: bytes, args: dict[str, Any]) -> dict[str, Any]:
    """Send one call to the model's session, opening a new session once if the last
    one ended (idle) before answering. Returns the answer, with the bytes it carries
    (outputs or a file) under `payload`."""
    for attempt in (1, 2):
        state = session(model)
        try:
            answer = _exchange(model, state, op, payload, args)
        except errors.Conflict:  # the session ended (idle): open a new one
            _forget(model)
            if attempt == 2:
                raise
            continue
        if answer["status"] == CallStatus.FAILED:
            error = answer.get("error") or {}
            if "session ended" in str(error.get("message", "")) and attempt == 1:
                _forget(model)
                continue
            raise errors.job_failed(state.job_id, error)
        return answer
    raise errors.HornError("unreachable")  # pragma: no cover


def _exchange(model: Model, state: _Session, op: str, payload: bytes,
              args: dict[str, Any]) -> dict[str, Any]:
    """One call over the session's websocket where it can go there, else by POST."""
    conn = model._conn()
    if op in STREAM_OPS and len(payload) <= MAX_MESSAGE_BYTES:
        if state.stream is None and not state.stream_tried:
            state.stream_tried = True
            state.stream = CallStream.open(conn, state.job_id)
        if state.stream is not None:
            conn.stats.requests += 1
            try:
                header, output = state.stream.call(op, args, payload)
            except Closed:  # e.g. the server restarted between two calls
                state.stream.close()
                state.stream = CallStream.open(conn, state.job_id)
            else:
                return {**header, "payload": output}
    response = conn.request(
        "POST", f"/v1/jobs/{state.job_id}/calls", params={"op": op}, content=payload,
        headers={"Content-Type": "application/octet-stream", "X-Horn-Args": json.dumps(args)})
    answer: dict[str, Any] = response.json()
    encoded = answer.pop("npz", None)
    answer["payload"] = base64.b64decode(encoded) if encoded else b""
    return answer


def close(model: Model) -> None:
    """Close the model's session (the worker writes the weights back first)."""
    state: _Session | None = model.__dict__.pop("_horn_session", None)
    _open.discard(model)
    if state is None:
        return
    if state.stream is not None:
        state.stream.close()
    with contextlib.suppress(errors.Conflict):  # already ended: weights written then
        model._conn().request("POST", f"/v1/jobs/{state.job_id}/calls",
                              params={"op": "close"}, content=b"",
                              headers={"Content-Type": "application/octet-stream"})


def file_bytes(answer: dict[str, Any]) -> bytes:
    """The file an `export`/`save_weights` answer carries."""
    data: bytes = answer["payload"]
    return data


def outputs(answer: dict[str, Any]) -> Any:
    """The predictions of a `predict` answer."""
    return _unpack_outputs(answer["outputs"], answer["payload"])


class BatchMixin:
    """`Model`'s manual-batch methods: `train_on_batch`, `test_on_batch`,
    `predict_on_batch`."""

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: dict[int, float] | None = None,
                       return_dict: bool = False) -> Any:
        """Run one gradient update on one batch, as `keras.Model.train_on_batch`.

        The model stays loaded on one warm worker between calls (a session), so a loop
        of calls is fast; the weights are written back to the server a few seconds
        after the last call, and before `fit`, `evaluate`, `predict`, `get_weights`.

        Returns:
            The loss (a float) when there are no metrics, else `[loss, metric, ...]`;
            a dict with `return_dict=True`.
        """
        model = cast("Model", self)  # the class this mixes into
        model._require_compiled("train_on_batch")
        args = {"class_weight": {str(int(k)): float(v) for k, v in class_weight.items()}
                } if class_weight else {}
        answer = call(model, "train", {"x": x, "y": y, "sample_weight": sample_weight}, args)
        return evaluate_result(answer, return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """Compute the loss and metrics on one batch, as `keras.Model.test_on_batch`."""
        model = cast("Model", self)  # the class this mixes into
        model._require_compiled("test_on_batch")
        answer = call(model, "test", {"x": x, "y": y, "sample_weight": sample_weight}, {})
        return evaluate_result(answer, return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """Predictions for one batch, as `keras.Model.predict_on_batch`."""
        model = cast("Model", self)  # the class this mixes into
        return outputs(call(model, "predict", {"x": x}, {}))


@atexit.register
def _close_all() -> None:
    for model in list(_open):
        with contextlib.suppress(errors.HornError):
            close(model)
