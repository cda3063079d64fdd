"""Saving and loading: `.keras` files, `.weights.h5` files, weights as NumPy arrays,
`load_model` and `model_from_json`.

Files are written and read by Keras on a worker (through the model's session, see
`batches.py`); the server checks a file it receives before any Keras code opens it.
"""

from __future__ import annotations

import io
import json
import os
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from horn import errors
from horn._http import get_connection
from horn.keras.models.batches import close, file_bytes, file_call, session

if TYPE_CHECKING:
    from horn.keras.models.model import Model


class SavingMixin:
    """`Model`'s methods that move its weights and files: `save`, `save_weights`,
    `load_weights`, `get_weights`, `set_weights`."""

    # --- files ---------------------------------------------------------------------
    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True,
             **kwargs: Any) -> None:
        """Save the model (architecture, weights, compile and optimizer state) as a
        `.keras` file that plain Keras's `keras.models.load_model` opens.

        The file is written by Keras on the worker that holds the model, then downloaded.
        """
        model = cast("Model", self)  # the class this mixes into
        path = os.fspath(filepath)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
        if not path.endswith(".keras"):
            raise ValueError(
                "Invalid filepath extension for saving. Please add a `.keras` extension for "
                "the native Keras format (legacy `.h5` files are not supported on horn). "
                f"Received: filepath={path}")
        _write_file(path, file_bytes(file_call(model, "export")), overwrite)

    def save_weights(self, filepath: str | os.PathLike[str],
                     overwrite: bool = True) -> None:
        """Save the weights as a Keras `.weights.h5` file."""
        model = cast("Model", self)  # the class this mixes into
        path = os.fspath(filepath)
        if not path.endswith(".weights.h5"):
            raise ValueError("The filename must end in `.weights.h5`. "
                             f"Received: filepath={path}")
        _write_file(path, file_bytes(file_call(model, "save_weights")), overwrite)

    def load_weights(self, filepath: str | os.PathLike[str], skip_mismatch: bool = False,
                     **kwargs: Any) -> None:
        """Load weights from a `.weights.h5` file (as `save_weights` or plain Keras wrote
        it); the server inspects the file before a worker loads it."""
        model = cast("Model", self)  # the class this mixes into
        path = os.fspath(filepath)
        if skip_mismatch or kwargs:
            raise ValueError("`skip_mismatch` and other options are not supported on horn.")
        if not path.endswith(".weights.h5"):
            raise ValueError("Invalid filepath extension for loading weights: horn loads "
                             f"`.weights.h5` files. Received: filepath={path}")
        with open(path, "rb") as handle:
            data = handle.read()
        file_call(model, "load_weights", data)
        close(model)  # the loaded weights become the stored version now

    def set_weights(self, weights: list[Any]) -> None:
        """Set the model's weights from NumPy arrays in Keras's `get_weights()` order.

        They become the model's newest weights version on the server; the next job
        starts from them (with a fresh optimizer state, since only weights are set).

        Raises:
            ValueError: when the number or shapes of the arrays do not match the model's
                weights (in Keras's words).
        """
        model = cast("Model", self)  # the class this mixes into
        close(model)
        expected = model._describe().get("weight_shapes") or []
        arrays = [np.asarray(w) for w in weights]
        if len(arrays) != len(expected):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{model.name}' with a weight "
                f"list of length {len(arrays)}, but the layer was expecting "
                f"{len(expected)} weights.")
        for array, shape in zip(arrays, expected, strict=True):
            if tuple(array.shape) != tuple(shape):
                raise ValueError(f"Layer {model.name} weight shape {tuple(shape)} is not "
                                 "compatible with provided weight shape "
                                 f"{tuple(array.shape)}.")
        buffer = io.BytesIO()
        np.savez(buffer, **{f"weights/{i:04d}": a  # type: ignore[arg-type]
                            for i, a in enumerate(arrays)})
        model_id = model._ensure_remote()
        model._conn().request("PUT", f"/v1/models/{model_id}/weights",
                             content=buffer.getvalue(),
                             headers={"Content-Type": "application/octet-stream"})

    def get_weights(self) -> list[np.ndarray]:
        """The model's weights as NumPy arrays, in Keras's order."""
        model = cast("Model", self)  # the class this mixes into
        close(model)
        try:
            data = model._conn().get_bytes(f"/v1/models/{model._ensure_remote()}/weights")
        except errors.NotFound:
            # Never run yet: a worker builds the model and stores its initial weights
            # (none for a model whose input shape is unknown, as in Keras).
            session(model)
            close(model)
            data = model._conn().get_bytes(f"/v1/models/{model._ensure_remote()}/weights")
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            keys = sorted(k for k in archive.files if k.startswith("weights/"))
            return [archive[k] for k in keys]


def model_from_json(json_string: str) -> Model:
    """A client model from Keras JSON (`model.to_json()` output), Sequential or
    functional, checked against horn's allow-list first."""
    from horn.schemas.validate import validate_keras_config

    spec = json.loads(json_string)
    validate_keras_config(spec, where="model")
    model = _model_from_spec(spec)
    compile_config = spec.get("compile_config")
    if compile_config:
        model.compile(**{k: v for k, v in compile_config.items()
                         if k in ("optimizer", "loss", "loss_weights", "metrics",
                                  "weighted_metrics")})
    return model


def _write_file(path: str, data: bytes, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and `overwrite=False`.")
    with open(path, "wb") as handle:
        handle.write(data)


def load_model(filepath: str | os.PathLike[str], custom_objects: Any = None,
               compile: bool = True, safe_mode: bool = True) -> Model:  # noqa: A002
    """Load a `.keras` file (saved by horn or by plain Keras) as a horn model.

    The file goes to the server, which unpacks it with size limits, checks its
    `config.json` against the allow-list and inspects its weights before any Keras code
    reads them; a worker loads the weights when the model is first used.

    Raises:
        ValueError: custom objects, legacy `.h5` files, or a file the server refuses.
    """
    path = os.fspath(filepath)
    if custom_objects:
        raise ValueError("`custom_objects` are not supported: custom Python code never "
                         "runs on horn. Use built-in Keras layers and functions.")
    if not path.endswith(".keras"):
        raise ValueError("File format not supported: horn loads native Keras `.keras` "
                         f"files (legacy `.h5` models are refused). Received: {path}")
    with open(path, "rb") as handle:
        data = handle.read()
    conn = get_connection()
    name = os.path.basename(path)[: -len(".keras")] or "model"
    body = conn.request("POST", "/v1/models/import", params={"name": name}, content=data,
                        headers={"Content-Type": "application/octet-stream"}).json()
    spec = dict(body["spec"])
    compile_config = spec.pop("compile_config", None)
    spec.pop("build_config", None)
    model = _model_from_spec(spec)
    model._remote_id, model._remote_spec = str(body["id"]), model._spec()
    if compile and compile_config:
        model.compile(**{k: v for k, v in compile_config.items()
                         if k in ("optimizer", "loss", "loss_weights", "metrics",
                                  "weighted_metrics")})
    return model


def _model_from_spec(spec: dict[str, Any]) -> Model:
    # Imported here: both classes import this module (their `from_config` rebuilds
    # nested models with `deserialize_layer`).
    from horn.keras.models.model import Model
    from horn.keras.models.sequential import Sequential

    if spec.get("class_name") == "Sequential":
        return Sequential.from_config(spec["config"])
    if spec.get("class_name") in ("Functional", "Model"):
        return Model.from_config(spec["config"])
    raise ValueError(f"Expected a Sequential or Functional model. Received: "
                     f"class_name={spec.get('class_name')!r}")


def deserialize_layer(entry: dict[str, Any]) -> Any:
    """A layer (or nested model) from its entry in a model config."""
    from horn.keras import layers as layers_ns

    if entry.get("class_name") in ("Sequential", "Functional", "Model"):
        return _model_from_spec(entry)
    clean = {k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")}
    return layers_ns.deserialize(clean)
