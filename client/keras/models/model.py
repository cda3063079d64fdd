"""`keras.Model`: the model's graph, config and JSON, `compile`, and `summary`."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from horn import _mirror
from horn._http import Connection, get_connection
from horn._tensors import KerasTensor
from horn.keras.callbacks import History
from horn.keras.models.batches import BatchMixin
from horn.keras.models.functional import collect, functional_config, input_from_entry, rebuild
from horn.keras.models.node import call_layer
from horn.keras.models.saving import SavingMixin, deserialize_layer
from horn.keras.models.training import TrainerMixin, inspect
from horn.schemas.tree import flatten


class Model(TrainerMixin, BatchMixin, SavingMixin):
    """What all horn models share: compile, fit, evaluate, predict, weights, JSON.

    The model lives on the server once it is first used; `fit` updates its weights
    there, and the next call continues from them, as in Keras. `Model(inputs, outputs)`
    is a functional model; `Sequential` is the other kind. Training is in
    `TrainerMixin`, manual batches in `BatchMixin`, files and weights in `SavingMixin`.
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to Model: {kwargs}")
        self.name: str = name or _mirror.auto_name(
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
            for value in flatten(given):
                if not isinstance(value, KerasTensor):
                    raise ValueError(f"All `{what}` values must be KerasTensors. Received: "
                                     f"{what}={given} including invalid value {value} of "
                                     f"type {type(value)}")
        self._inputs, self._outputs = inputs, outputs
        functional_config(self.name, self.trainable, inputs, outputs)  # checks

    # --- the functional API ---------------------------------------------------------
    @property
    def inputs(self) -> list[KerasTensor]:
        """The model's input tensors (flattened), as in Keras."""
        return [t for t in flatten(self._inputs) if isinstance(t, KerasTensor)]

    @property
    def outputs(self) -> list[KerasTensor]:
        """The model's output tensors (flattened), as in Keras."""
        return [t for t in flatten(self._outputs) if isinstance(t, KerasTensor)]

    @property
    def layers(self) -> list[Any]:
        """The model's layers in topological order (its `InputLayer`s included)."""
        layers, _ = collect(self.inputs, self.outputs)
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
        return call_layer(self, *args, **kwargs)

    def _serialize(self) -> dict[str, Any]:
        spec = self._spec()
        spec.pop("build_config", None)
        return spec

    def get_config(self) -> dict[str, Any]:
        """The model's config, in Keras's format (`Functional.get_config()`)."""
        return functional_config(self.name, self.trainable, self._inputs,
                                             self._outputs)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Rebuild a functional model from `get_config()` output (or Keras's)."""
        inputs, outputs = rebuild(config, deserialize_layer, input_from_entry)
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
            "optimizer": _mirror.serialize(self.optimizer),
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
        result: dict[str, Any] = inspect(self, options)
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

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:  # Keras's words (`what` is kept for the signature's sake)
            raise ValueError("You must call `compile()` before using the model.")


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
    if callable(getattr(value, "_serialize", None)) or isinstance(value, _mirror.KerasObject):
        return _mirror.serialize(value)
    if callable(value):
        raise ValueError(
            f"Could not interpret {value!r}: custom Python functions cannot run on horn. "
            "Pass the name of a built-in (e.g. 'mse', 'accuracy') or a built-in object "
            "from `keras.losses`/`keras.metrics`.")
    return _mirror.serialize(value)
