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
from typing import TYPE_CHECKING, Any

import numpy as np

from client import _data, errors

if TYPE_CHECKING:
    from client.models import Model

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

    def build(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: build(v) for k, v in node.items()}
        if isinstance(node, list):
            return [build(v) for v in node]
        return arrays[node]

    return build(structure)


def _session(model: Model) -> str:
    state = model.__dict__.get("_horn_session")
    spec_key = json.dumps([model._spec(), model._compile_id], sort_keys=True)
    if state is not None and state[1] == spec_key:
        return str(state[0])
    close(model)
    from client._training import _submit

    job_id = _submit(model, "session", {}, {}, {})
    model.__dict__["_horn_session"] = (job_id, spec_key)
    _open.add(model)
    return job_id


def call(model: Model, op: str, arrays: dict[str, Any], args: dict[str, Any]) -> Any:
    """Run one manual-batch call on the model's session; returns Keras's value."""
    return _send(model, op, _pack(arrays), args)


def file_call(model: Model, op: str, data: bytes = b"") -> dict[str, Any]:
    """A session call that moves a file: `export`, `save_weights` (the answer carries
    the file) or `load_weights` (the request does)."""
    return _send(model, op, data, {})


def _send(model: Model, op: str, payload: bytes, args: dict[str, Any]) -> dict[str, Any]:
    """Send one call to the model's session, opening a new session once if the last
    one ended (idle) before answering."""
    for attempt in (1, 2):
        job_id = _session(model)
        try:
            answer: dict[str, Any] = model._conn().request(
                "POST", f"/v1/jobs/{job_id}/calls", params={"op": op}, content=payload,
                headers={"Content-Type": "application/octet-stream",
                         "X-Horn-Args": json.dumps(args)}).json()
        except errors.Conflict:  # the session ended (idle): open a new one
            model.__dict__.pop("_horn_session", None)
            if attempt == 2:
                raise
            continue
        if answer["status"] == "failed":
            error = answer.get("error") or {}
            if "session ended" in str(error.get("message", "")) and attempt == 1:
                model.__dict__.pop("_horn_session", None)
                continue
            raise errors.job_failed(job_id, error)
        return answer
    raise errors.HornError("unreachable")  # pragma: no cover


def close(model: Model) -> None:
    """Close the model's session (the worker writes the weights back first)."""
    state = model.__dict__.pop("_horn_session", None)
    _open.discard(model)
    if state is None:
        return
    with contextlib.suppress(errors.Conflict):  # already ended: weights written then
        model._conn().request("POST", f"/v1/jobs/{state[0]}/calls", params={"op": "close"},
                              content=b"", headers={"Content-Type": "application/octet-stream"})


def file_bytes(answer: dict[str, Any]) -> bytes:
    """The file an `export`/`save_weights` answer carries."""
    return base64.b64decode(answer["npz"])


def outputs(answer: dict[str, Any]) -> Any:
    """The predictions of a `predict` answer."""
    return _unpack_outputs(answer["outputs"], base64.b64decode(answer["npz"]))


@atexit.register
def _close_all() -> None:
    for model in list(_open):
        with contextlib.suppress(errors.HornError):
            close(model)
