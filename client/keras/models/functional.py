"""The functional API: `keras.Input`, and a graph of layer calls to and from Keras's
functional JSON (`inbound_nodes` with `__keras_tensor__` history), which Keras's
`model_from_json` rebuilds.

`keras.Model(inputs, outputs)` (in `model.py`) walks the nodes that layer calls record
(`node.py`) into `Functional.get_config()`; `rebuild` replays such a config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from horn import _mirror
from horn._mirror import register_layer_call
from horn._tensors import KerasTensor
from horn.keras.models.node import call_layer, class_name, nodes_of
from horn.schemas.tree import flatten


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
                              name=name or _mirror.auto_name("input_layer"),
                              optional=bool(optional))
    tensor = KerasTensor(full, str(dtype or "float32"), layer.name, layer)
    layer.__dict__["_horn_input_tensor"] = tensor
    return tensor


def input_from_entry(entry: dict[str, Any]) -> KerasTensor:
    """The `keras.Input` an `InputLayer` entry of a functional config describes."""
    config = entry["config"]
    return Input(batch_shape=config.get("batch_shape"), dtype=config.get("dtype"),
                 sparse=config.get("sparse"), name=config.get("name"),
                 optional=bool(config.get("optional", False)))


# --- from a graph to Keras's functional config -------------------------------------


class GraphError(ValueError):
    """The outputs cannot be reached from the inputs."""


def _history(tensor: KerasTensor) -> tuple[Any, int, int]:
    layer, node_index, tensor_index = tensor._keras_history
    return layer, node_index, tensor_index


def collect(inputs: list[KerasTensor], outputs: list[KerasTensor]
            ) -> tuple[list[Any], dict[int, list[int]]]:
    """The layers between `inputs` and `outputs` in topological order, and for each
    layer (by id) the node indices that belong to this graph.

    Raises:
        GraphError: an output depends on a tensor that is not among the inputs.
    """
    input_ids = {id(t) for t in inputs}
    order: list[Any] = []
    used: dict[int, list[int]] = {}
    seen_nodes: set[tuple[int, int]] = set()

    def visit(tensor: KerasTensor) -> None:
        layer, node_index, _ = _history(tensor)
        key = (id(layer), node_index)
        if key in seen_nodes:
            return
        seen_nodes.add(key)
        if class_name(layer) == "InputLayer":
            if id(tensor) not in input_ids:
                raise GraphError(
                    f"Graph disconnected: cannot obtain the value of tensor {tensor.name} "
                    f"(from Input `{layer.name}`), which is not among the model's inputs. "
                    "Pass every `keras.Input` the outputs depend on as `inputs`.")
        else:
            node = nodes_of(layer)[node_index]
            for parent in flatten((node.args, node.kwargs)):
                if isinstance(parent, KerasTensor):
                    visit(parent)
        used.setdefault(id(layer), [])
        if node_index not in used[id(layer)]:
            used[id(layer)].append(node_index)
        if all(existing is not layer for existing in order):
            order.append(layer)

    for tensor in inputs:
        layer, _, _ = _history(tensor)
        if class_name(layer) != "InputLayer":
            raise ValueError("Model inputs must come from `keras.Input`. Received: "
                             f"{tensor!r}")
    for tensor in outputs:
        visit(tensor)
    for tensor in inputs:  # inputs that no output uses still belong to the model
        visit(tensor)
    for indices in used.values():
        indices.sort()
    return order, used


def _tensor_config(tensor: KerasTensor, reindex: dict[tuple[int, int], int]) -> dict[str, Any]:
    layer, node_index, tensor_index = _history(tensor)
    return {"class_name": "__keras_tensor__", "config": {
        "shape": [None if d is None else int(d) for d in tensor.shape],
        "dtype": tensor.dtype,
        "keras_history": [layer.name, reindex.get((id(layer), node_index), node_index),
                          tensor_index]}}


def _serialize_arg(value: Any, reindex: dict[tuple[int, int], int]) -> Any:
    if isinstance(value, KerasTensor):
        return _tensor_config(value, reindex)
    if isinstance(value, dict):
        return {k: _serialize_arg(v, reindex) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_arg(v, reindex) for v in value]
    return _mirror.serialize(value)


def _triple(tensor: KerasTensor, reindex: dict[tuple[int, int], int]) -> list[Any]:
    layer, node_index, tensor_index = _history(tensor)
    return [layer.name, reindex.get((id(layer), node_index), node_index), tensor_index]


def structure_config(structure: Any, reindex: dict[tuple[int, int], int]) -> Any:
    """`input_layers`/`output_layers`: the same nesting as the model's inputs/outputs."""
    if isinstance(structure, KerasTensor):
        return _triple(structure, reindex)
    if isinstance(structure, dict):
        return {k: structure_config(v, reindex) for k, v in structure.items()}
    return [structure_config(v, reindex) for v in structure]


def functional_config(name: str, trainable: bool, inputs: Any, outputs: Any) -> dict[str, Any]:
    """Keras's `Functional.get_config()` for this graph."""
    flat_in = [t for t in flatten(inputs) if isinstance(t, KerasTensor)]
    flat_out = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]
    layers, used = collect(flat_in, flat_out)
    names: dict[str, Any] = {}
    for layer in layers:
        if layer.name in names and names[layer.name] is not layer:
            raise ValueError(f"The name \"{layer.name}\" is used 2 times in the model. All "
                             "operation names should be unique.")
        names[layer.name] = layer
    reindex = {(id(layer), old): new for layer in layers
               for new, old in enumerate(used[id(layer)])}
    entries = []
    for layer in layers:
        entry = dict(layer._serialize())
        entry["name"] = layer.name
        if class_name(layer) == "InputLayer":
            entry["inbound_nodes"] = []
        else:
            entry["inbound_nodes"] = [
                {"args": _serialize_arg(list(node.args), reindex),
                 "kwargs": _serialize_arg(node.kwargs, reindex)}
                for index, node in enumerate(nodes_of(layer)) if index in used[id(layer)]]
        entries.append(entry)
    return {"name": name, "trainable": trainable, "layers": entries,
            "input_layers": structure_config(inputs, reindex),
            "output_layers": structure_config(outputs, reindex)}


# --- from Keras's functional config back to a graph ------------------------------------


def _resolve(value: Any, created: dict[str, Any]) -> Any:
    """Replace `__keras_tensor__` references by the tensors they name (KeyError when
    the producing call has not been replayed yet)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            name, node_index, tensor_index = value["config"]["keras_history"]
            producer = created[name]
            if class_name(producer) == "InputLayer":
                return producer.__dict__["_horn_input_tensor"]
            return nodes_of(producer)[node_index].outputs[tensor_index]
        return {k: _resolve(v, created) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, created) for v in value]
    return value


def rebuild(config: dict[str, Any], make_layer: Any, make_input: Any
            ) -> tuple[Any, Any]:
    """Replay a functional config: returns `(inputs, outputs)` in their structures."""
    created: dict[str, Any] = {}
    pending: list[tuple[Any, dict[str, Any]]] = []
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            tensor = make_input(entry)
            created[entry.get("name") or entry["config"]["name"]] = tensor._keras_history[0]
            continue
        layer = make_layer(entry)
        created[entry.get("name") or layer.name] = layer
        pending += [(layer, node) for node in entry.get("inbound_nodes", [])]
    while pending:
        progressed, waiting = False, []
        for layer, node in pending:
            try:
                args = _resolve(node.get("args", []), created)
                kwargs = _resolve(node.get("kwargs", {}), created)
            except (KeyError, IndexError):
                waiting.append((layer, node))
                continue
            layer(*args, **kwargs)
            progressed = True
        if not progressed:
            raise ValueError("The functional config references layer outputs that no node "
                             "produces; it cannot be rebuilt.")
        pending = waiting

    def tensors(structure: Any) -> Any:
        if isinstance(structure, dict):
            return {k: tensors(v) for k, v in structure.items()}
        if isinstance(structure, list) and len(structure) == 3 and isinstance(structure[0], str):
            return _resolve({"class_name": "__keras_tensor__",
                             "config": {"keras_history": structure}}, created)
        return [tensors(v) for v in structure]

    return tensors(config["input_layers"]), tensors(config["output_layers"])


register_layer_call(call_layer)  # `layer(tensor)` records a node from now on
