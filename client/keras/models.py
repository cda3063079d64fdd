"""Models: `Input`, `Sequential`, and (for loading saved work) `models.load_model`."""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from horn import _batches, _functional, _objects, _training, errors
from horn._http import Connection, get_connection
from horn._objects import register_layer_call
from horn._tensors import KerasTensor
from horn.keras.callbacks import History

_DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy",
                 "config": {"name": "float32"}, "registered_name": None}


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None,  # noqa: N802
          dtype: str | None = None, sparse: bool | None = None,
          batch_shape: Sequence[int | None] | None = None, name: str | None = None,
          tensor: Any = None, optional: bool = False) -> KerasTensor:
    """A symbolic input, as `keras.Input`.

    Args:
        shape: the shape of one sample, without the batch dimension, e.g. `(784,)`.
        batch_size: optional fixed batch size.
        dtype: the input's dtype (default `"float32"`).
        sparse: whether the input is sparse.
        batch_shape: the full shape including the batch dimension (instead of `shape`).
        name: the input's name (unique; generated when omitted).
        tensor: not supported on horn (there are no concrete tensors on the client).
        optional: whether the input may be `None`.

    Returns:
        A `KerasTensor`.

    Example:
        >>> from horn import keras
        >>> keras.Input((784,)).shape
        (None, 784)
    """
    if tensor is not None:
        raise ValueError("Argument `tensor` is not supported on horn: the client holds no "
                         "tensors. Pass `shape` (and `dtype`) instead.")
    if shape is not None and batch_shape is not None:
        raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
    if shape is None and batch_shape is None:
        raise ValueError("You must pass a `shape` argument.")
    if batch_shape is not None:
        full = tuple(batch_shape)
    else:
        if isinstance(shape, int):
            shape = (shape,)
        assert shape is not None
        full = (batch_size, *shape)
    for dim in full[1:]:
        if dim is not None and (not isinstance(dim, (int, np.integer)) or dim < 0):
            raise ValueError(f"Invalid shape for Input: every dimension must be a "
                             f"non-negative integer or None. Received: shape={full[1:]}")
    full = tuple(None if d is None else int(d) for d in full)
    from horn.keras import layers

    layer = layers.InputLayer(batch_shape=full, dtype=dtype or "float32", sparse=bool(sparse),
                              name=name or _objects.auto_name("input_layer"),
                              optional=bool(optional))
    tensor = KerasTensor(full, str(dtype or "float32"), layer.name, layer)
    layer.__dict__["_horn_input_tensor"] = tensor
    return tensor


class Model:
    """What all horn models share: compile, fit, evaluate, predict, weights, JSON.

    The model lives on the server once it is first used; `fit` updates its weights
    there, and the next call continues from them, as in Keras.
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to Model: {kwargs}")
        self.name: str = name or _objects.auto_name(
            "functional" if type(self) is Model else type(self).__name__)
        self.trainable: bool = trainable
        self.compiled = False
        self._compile_config: dict[str, Any] | None = None
        self._compile_id: str | None = None
        self.optimizer: Any = None
        self.loss: Any = None
        self.history: History | None = None
        self.stop_training = False
        self._remote_id: str | None = None
        self._remote_spec: dict[str, Any] | None = None
        self._connection: Connection | None = None
        self._inputs: Any = None
        self._outputs: Any = None
        if type(self) is not Model:
            return
        if inputs is None or outputs is None:
            raise ValueError(
                "horn builds models with `keras.Model(inputs, outputs)` (the functional API) "
                "or `keras.Sequential`. Subclassing `keras.Model` with a custom `call` would "
                "run your Python code on the worker, which horn never does.")
        for what, given in (("inputs", inputs), ("outputs", outputs)):
            for value in _functional.flatten(given):
                if not isinstance(value, KerasTensor):
                    raise ValueError(f"All `{what}` values must be KerasTensors. Received: "
                                     f"{what}={given} including invalid value {value} of "
                                     f"type {type(value)}")
        self._inputs, self._outputs = inputs, outputs
        _functional.functional_config(self.name, self.trainable, inputs, outputs)  # checks

    # --- the functional API ---------------------------------------------------------
    @property
    def inputs(self) -> list[KerasTensor]:
        """The model's input tensors (flattened), as in Keras."""
        return [t for t in _functional.flatten(self._inputs) if isinstance(t, KerasTensor)]

    @property
    def outputs(self) -> list[KerasTensor]:
        """The model's output tensors (flattened), as in Keras."""
        return [t for t in _functional.flatten(self._outputs) if isinstance(t, KerasTensor)]

    @property
    def layers(self) -> list[Any]:
        """The model's layers in topological order (its `InputLayer`s included)."""
        layers, _ = _functional.collect(self.inputs, self.outputs)
        return layers

    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        """A layer by name or by index in `model.layers`, as in Keras."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model "
                                 f"only has {len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Use the model as a layer of another model (on symbolic tensors)."""
        return _functional.call_layer(self, *args, **kwargs)

    def _serialize(self) -> dict[str, Any]:
        spec = self._spec()
        spec.pop("build_config", None)
        return spec

    def get_config(self) -> dict[str, Any]:
        """The model's config, in Keras's format (`Functional.get_config()`)."""
        return _functional.functional_config(self.name, self.trainable, self._inputs,
                                             self._outputs)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Rebuild a functional model from `get_config()` output (or Keras's)."""
        inputs, outputs = _functional.rebuild(config, _deserialize_layer, _input_from_entry)
        return Model(inputs, outputs, name=config.get("name"),
                     trainable=config.get("trainable", True))

    def _spec(self) -> dict[str, Any]:
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": self.get_config(), "registered_name": "Functional"}

    # --- serialization -----------------------------------------------------------
    def to_json(self, **kwargs: Any) -> str:
        """The model as Keras JSON; `keras.models.model_from_json` in Keras reads it."""
        spec = self._spec()
        if self._compile_config is not None:
            spec["compile_config"] = copy.deepcopy(self._compile_config)
        return json.dumps(spec, **kwargs)

    # --- compile -----------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                metrics: Any = None, weighted_metrics: Any = None, run_eagerly: bool = False,
                steps_per_execution: int = 1, jit_compile: Any = "auto",
                auto_scale_loss: bool = True) -> None:
        """Configure the model for training, as `keras.Model.compile`.

        Args:
            optimizer: name (`"adam"`) or optimizer instance (`keras.optimizers.SGD(...)`).
            loss: name, loss instance, or a list/dict of them (one per output).
            loss_weights: scalar coefficients per output.
            metrics: names or metric instances (list, or dict per output).
            weighted_metrics: metrics weighted by `sample_weight`/`class_weight`.
            run_eagerly: run the training step eagerly on the worker (slow; debugging).
            steps_per_execution: batches per compiled call on the worker.
            jit_compile: XLA compilation on the worker (`"auto"`, True, False).
            auto_scale_loss: loss scaling under mixed precision.
        """
        from horn.keras import losses as losses_ns
        from horn.keras import metrics as metrics_ns
        from horn.keras import optimizers as optimizers_ns

        self.optimizer = optimizers_ns.get(optimizer)
        _check_names(loss, losses_ns.get)
        _check_names(metrics, _metric_name_check)
        _check_names(weighted_metrics, _metric_name_check)
        self.loss = loss
        config = {
            "optimizer": _objects.serialize(self.optimizer),
            "loss": _serialize_nested(loss, losses_ns),
            "loss_weights": loss_weights,
            "metrics": _serialize_nested(metrics, metrics_ns),
            "weighted_metrics": _serialize_nested(weighted_metrics, metrics_ns),
            "run_eagerly": bool(run_eagerly),
            "steps_per_execution": int(steps_per_execution),
            "jit_compile": jit_compile,
            "auto_scale_loss": bool(auto_scale_loss),
        }
        json.dumps(config)  # fail here, not on the server, if something is not JSON
        self._compile_config = config
        self._compile_id = uuid.uuid4().hex
        self.compiled = True

    # --- remote state ------------------------------------------------------------
    def _conn(self) -> Connection:
        return self._connection or get_connection()

    def _ensure_remote(self) -> str:
        spec = self._spec()
        if self._remote_id is None or spec != self._remote_spec:
            body = self._conn().post("/v1/models", {"name": self.name, "spec": spec})
            self._remote_id, self._remote_spec = body["id"], spec
        return self._remote_id

    def _describe(self, **options: Any) -> dict[str, Any]:
        """Build the model on a worker and describe it (cached per architecture)."""
        spec_key = json.dumps([self._spec(), options], sort_keys=True)
        cached = self.__dict__.get("_horn_description")
        if cached is not None and cached[0] == spec_key:
            return dict(cached[1])
        result: dict[str, Any] = _training.inspect(self, options)
        self.__dict__["_horn_description"] = (spec_key, result)
        return result

    def summary(self, line_length: int | None = None, positions: list[float] | None = None,
                print_fn: Any = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: list[str] | None = None) -> None:
        """Print Keras's summary table: layers, output shapes, parameter counts.

        The model is built by Keras on a worker (a short `inspect` job), so the shapes
        and counts are Keras's own; the text is the table Keras prints.

        Args:
            line_length: total width of the table.
            positions: relative or absolute column positions.
            print_fn: called with each line instead of `print`.
            expand_nested: also list the layers of nested models.
            show_trainable: add a column saying whether each layer is trainable.
            layer_range: `[first_name, last_name]` to print only part of the model.
        """
        described = self._describe(line_length=line_length, positions=positions,
                                   expand_nested=expand_nested,
                                   show_trainable=show_trainable, layer_range=layer_range)
        text = described["summary"]
        if print_fn is None:
            print(text, end="" if text.endswith("\n") else "\n")
            return
        for line in text.rstrip("\n").split("\n"):
            print_fn(line)

    def count_params(self) -> int:
        """The number of weights of the model, as Keras counts them."""
        described = self._describe()
        if not described.get("built"):
            raise ValueError(f"You tried to call `count_params` on model '{self.name}', but "
                             "the model has not been built. Add a `keras.Input` first, or "
                             "train it once so that its input shape is known.")
        return int(described["total_params"])

    # --- files ---------------------------------------------------------------------
    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True,
             **kwargs: Any) -> None:
        """Save the model (architecture, weights, compile and optimizer state) as a
        `.keras` file that plain Keras's `keras.models.load_model` opens.

        The file is written by Keras on the worker that holds the model, then downloaded.
        """
        path = os.fspath(filepath)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
        if not path.endswith(".keras"):
            raise ValueError(
                "Invalid filepath extension for saving. Please add a `.keras` extension for "
                "the native Keras format (legacy `.h5` files are not supported on horn). "
                f"Received: filepath={path}")
        _write_file(path, _batches.file_bytes(_batches.file_call(self, "export")), overwrite)

    def save_weights(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Save the weights as a Keras `.weights.h5` file."""
        path = os.fspath(filepath)
        if not path.endswith(".weights.h5"):
            raise ValueError("The filename must end in `.weights.h5`. "
                             f"Received: filepath={path}")
        _write_file(path, _batches.file_bytes(_batches.file_call(self, "save_weights")),
                    overwrite)

    def load_weights(self, filepath: str | os.PathLike[str], skip_mismatch: bool = False,
                     **kwargs: Any) -> None:
        """Load weights from a `.weights.h5` file (as `save_weights` or plain Keras wrote
        it); the server inspects the file before a worker loads it."""
        path = os.fspath(filepath)
        if skip_mismatch or kwargs:
            raise ValueError("`skip_mismatch` and other options are not supported on horn.")
        if not path.endswith(".weights.h5"):
            raise ValueError("Invalid filepath extension for loading weights: horn loads "
                             f"`.weights.h5` files. Received: filepath={path}")
        with open(path, "rb") as handle:
            data = handle.read()
        _batches.file_call(self, "load_weights", data)
        _batches.close(self)  # the loaded weights become the stored version now

    # --- manual batches ----------------------------------------------------------------
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
        self._require_compiled("train_on_batch")
        args = {"class_weight": {str(int(k)): float(v) for k, v in class_weight.items()}
                } if class_weight else {}
        answer = _batches.call(self, "train", {"x": x, "y": y, "sample_weight": sample_weight},
                               args)
        return _training.evaluate_result(answer, return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """Compute the loss and metrics on one batch, as `keras.Model.test_on_batch`."""
        self._require_compiled("test_on_batch")
        answer = _batches.call(self, "test", {"x": x, "y": y, "sample_weight": sample_weight},
                               {})
        return _training.evaluate_result(answer, return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """Predictions for one batch, as `keras.Model.predict_on_batch`."""
        return _batches.outputs(_batches.call(self, "predict", {"x": x}, {}))

    def set_weights(self, weights: list[Any]) -> None:
        """Set the model's weights from NumPy arrays in Keras's `get_weights()` order.

        They become the model's newest weights version on the server; the next job
        starts from them (with a fresh optimizer state, since only weights are set).

        Raises:
            ValueError: when the number or shapes of the arrays do not match the model's
                weights (in Keras's words).
        """
        _batches.close(self)
        import io

        expected = self._describe().get("weight_shapes") or []
        arrays = [np.asarray(w) for w in weights]
        if len(arrays) != len(expected):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight "
                f"list of length {len(arrays)}, but the layer was expecting "
                f"{len(expected)} weights.")
        for array, shape in zip(arrays, expected, strict=True):
            if tuple(array.shape) != tuple(shape):
                raise ValueError(f"Layer {self.name} weight shape {tuple(shape)} is not "
                                 "compatible with provided weight shape "
                                 f"{tuple(array.shape)}.")
        buffer = io.BytesIO()
        np.savez(buffer, **{f"weights/{i:04d}": a  # type: ignore[arg-type]
                            for i, a in enumerate(arrays)})
        model_id = self._ensure_remote()
        self._conn().request("PUT", f"/v1/models/{model_id}/weights",
                             content=buffer.getvalue(),
                             headers={"Content-Type": "application/octet-stream"})

    def get_weights(self) -> list[np.ndarray]:
        """The model's weights as NumPy arrays, in Keras's order."""
        _batches.close(self)
        import io

        try:
            data = self._conn().get_bytes(f"/v1/models/{self._ensure_remote()}/weights")
        except errors.NotFound:
            # Never run yet: a worker builds the model and stores its initial weights
            # (none for a model whose input shape is unknown, as in Keras).
            _batches._session(self)
            _batches.close(self)
            data = self._conn().get_bytes(f"/v1/models/{self._ensure_remote()}/weights")
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            keys = sorted(k for k in archive.files if k.startswith("weights/"))
            return [archive[k] for k in keys]

    # --- training ----------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None,
            epochs: int = 1, verbose: Any = "auto", callbacks: Iterable[Any] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1, *, wait: bool = True, **job_options: Any) -> Any:
        """Train the model on the horn worker, as `keras.Model.fit`.

        Prints Keras's progress bar from the worker's events and calls your callbacks'
        `on_epoch_end(epoch, logs)` (and friends) in this process.

        horn adds keyword arguments of its own: `wait=False` returns a `horn.jobs.Job`
        at once instead of waiting; `priority` (`"high"`, `"normal"`, `"low"`), `queue`
        (a named queue, e.g. `"gpu-a100"`), `time_limit` (seconds of wall time) and
        `max_attempts` (how many lost workers the job survives) schedule the job.

        Returns:
            A `History` whose `.history`, `.epoch` and `.params` are Keras's (a `Job`
            with `wait=False`).

        Raises:
            ValueError: bad arguments or data (before anything is sent), or a job that
                failed on the worker with a `ValueError` (shapes, for instance).
            RuntimeError: if the model was not compiled.
        """
        self._require_compiled("fit")
        args = {"batch_size": batch_size, "epochs": epochs, "validation_split": validation_split,
                "shuffle": shuffle, "initial_epoch": initial_epoch,
                "steps_per_epoch": steps_per_epoch, "validation_steps": validation_steps,
                "validation_batch_size": validation_batch_size,
                "validation_freq": validation_freq,
                "class_weight": {str(int(k)): float(v) for k, v in class_weight.items()}
                if class_weight else None}
        return _training.fit(self, x, y, sample_weight, validation_data, args,
                             verbose, list(callbacks or []), {"wait": wait, **job_options})

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Iterable[Any] | None = None, return_dict: bool = False,
                 *, wait: bool = True, **kwargs: Any) -> Any:
        """Compute the loss and metrics on the horn worker, as `keras.Model.evaluate`.

        Takes horn's `wait`, `priority`, `queue`, `time_limit` and `max_attempts` like
        `fit`.

        Returns:
            The loss (a float) when there are no metrics, else the list
            `[loss, metric, ...]`; a dict when `return_dict=True`.
        """
        self._require_compiled("evaluate")
        return _training.evaluate(self, x, y, sample_weight,
                                  {"batch_size": batch_size, "steps": steps},
                                  verbose, list(callbacks or []), return_dict,
                                  {"wait": wait, **kwargs})

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: Iterable[Any] | None = None, *,
                wait: bool = True, **job_options: Any) -> Any:
        """Run the model on `x` on the horn worker, as `keras.Model.predict`.

        Takes horn's `wait`, `priority`, `queue`, `time_limit` and `max_attempts` like
        `fit`.

        Returns:
            NumPy array(s) of predictions.
        """
        return _training.predict(self, x, {"batch_size": batch_size, "steps": steps},
                                 verbose, list(callbacks or []), {"wait": wait, **job_options})

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:  # Keras's words (`what` is kept for the signature's sake)
            raise ValueError("You must call `compile()` before using the model.")


class Sequential(Model):
    """A linear stack of layers, as `keras.Sequential`.

    Args:
        layers: optional list of layers (and/or a leading `keras.Input`).
        trainable: whether the model's weights are trained.
        name: the model's name.

    Example:
        >>> from horn import keras
        >>> from horn.keras import layers
        >>> model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
        >>> [layer.name.startswith("dense") for layer in model.layers]
        [True]
    """

    def __init__(self, layers: Iterable[Any] | None = None, trainable: bool = True,
                 name: str | None = None) -> None:
        super().__init__(name=name or _objects.auto_name("sequential"), trainable=trainable)
        self._layers: list[Any] = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Any]:
        """The model's layers (its `InputLayer` excluded, as in Keras)."""
        return [layer for layer in self._layers if not _is_input_layer(layer)]

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Add a layer (or a `keras.Input`) on top of the stack."""
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Model) and not (
                isinstance(layer, _objects.KerasObject) and layer._category == "layers"):
            raise ValueError("Only instances of `keras.Layer` can be added to a Sequential "
                             f"model. Received: {layer!r} (of type {type(layer)})")
        is_input = _is_input_layer(layer)
        if is_input and self._layers and _is_input_layer(self._layers[0]):
            raise ValueError(f"Sequential model '{self.name}' has already been configured "
                             f"to use input shape {self._input_shape()}. You cannot add a "
                             "different Input layer to it.")
        if is_input and self._layers:
            raise ValueError("An `Input` (InputLayer) can only be the first layer of a "
                             "Sequential model.")
        names = {getattr(existing, "name", None) for existing in self._layers}
        if layer.name in names:
            raise ValueError(f"All layers added to a Sequential model should have unique "
                             f"names. Name '{layer.name}' is already the name of a layer in "
                             "this model. Update the `name` argument to pass a unique name.")
        self._layers.append(layer)

    def pop(self, rebuild: bool = True) -> Any:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        return self._layers.pop()

    def _input_shape(self) -> list[int | None] | None:
        if self._layers and _is_input_layer(self._layers[0]):
            return list(self._layers[0].get_config()["batch_shape"])
        return None

    def get_config(self) -> dict[str, Any]:
        """The model's config in Keras's format (`name`, `trainable`, `dtype`, `layers`)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": copy.deepcopy(_DTYPE_POLICY),
                                  "layers": [layer._serialize() for layer in self._layers]}
        shape = self._input_shape()
        if shape is not None:
            config["build_input_shape"] = shape
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild a Sequential model from `get_config()` output."""

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config.get("layers", []):
            model.add(_deserialize_layer(entry))
        return model

    def _spec(self) -> dict[str, Any]:
        if not self._layers:
            raise ValueError(f"Sequential model {self.name!r} has no layers. Add layers "
                             "with `model.add(...)` before using it.")
        spec: dict[str, Any] = {"module": "keras", "class_name": "Sequential",
                                "config": self.get_config(), "registered_name": None}
        shape = self._input_shape()
        if shape is not None:
            spec["build_config"] = {"input_shape": shape}
        return spec

    def __repr__(self) -> str:
        return f"<Sequential name={self.name}, built={self._input_shape() is not None}>"


def _is_input_layer(layer: Any) -> bool:
    return type(layer).__name__ == "InputLayer"


_METRIC_SHORTHANDS = frozenset({"accuracy", "acc", "crossentropy", "ce"})
"""Strings `compile(metrics=...)` accepts besides metric names (Keras picks the variant
that fits the loss)."""


def _metric_name_check(name: str) -> Any:
    if name in _METRIC_SHORTHANDS:
        return name
    from horn.keras import metrics as metrics_ns

    return metrics_ns.get(name)


def _check_names(value: Any, check: Any) -> None:
    """Resolve every string in a (nested) loss/metrics argument, so a typo fails at
    `compile()` with a suggestion instead of on the worker."""
    if isinstance(value, str):
        check(value)
    elif isinstance(value, dict) and "class_name" in value:
        return  # a serialized Keras object: checked against the allow-list on the server
    elif isinstance(value, dict):
        for item in value.values():
            _check_names(item, check)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_names(item, check)


def _serialize_nested(value: Any, namespace: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _serialize_nested(v, namespace) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_nested(v, namespace) for v in value]
    if callable(getattr(value, "_serialize", None)) or isinstance(value, _objects.KerasObject):
        return _objects.serialize(value)
    if callable(value):
        raise ValueError(
            f"Could not interpret {value!r}: custom Python functions cannot run on horn. "
            "Pass the name of a built-in (e.g. 'mse', 'accuracy') or a built-in object "
            "from `keras.losses`/`keras.metrics`.")
    return _objects.serialize(value)


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
    if spec.get("class_name") == "Sequential":
        return Sequential.from_config(spec["config"])
    if spec.get("class_name") in ("Functional", "Model"):
        return Model.from_config(spec["config"])
    raise ValueError(f"Expected a Sequential or Functional model. Received: "
                     f"class_name={spec.get('class_name')!r}")


def _deserialize_layer(entry: dict[str, Any]) -> Any:
    from horn.keras import layers as layers_ns

    if entry.get("class_name") in ("Sequential", "Functional", "Model"):
        return _model_from_spec(entry)
    clean = {k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")}
    return layers_ns.deserialize(clean)


def _input_from_entry(entry: dict[str, Any]) -> KerasTensor:
    config = entry["config"]
    return Input(batch_shape=config.get("batch_shape"), dtype=config.get("dtype"),
                 sparse=config.get("sparse"), name=config.get("name"),
                 optional=bool(config.get("optional", False)))


register_layer_call(_functional.call_layer)

__all__ = ["Input", "Model", "Sequential", "load_model", "model_from_json", "errors"]
