"""The functional API on the client: layer calls on symbolic tensors record nodes, and
a `Model(inputs, outputs)` walks them into Keras's functional JSON (`inbound_nodes`
with `__keras_tensor__` history), which Keras's `model_from_json` rebuilds.

Output shapes are inferred for the common layers (Dense, Dropout, activations,
normalization, merges, Flatten, Reshape, Embedding, recurrent layers, RepeatVector...);
for others the rank is kept and the sizes are unknown (`None`). The worker's Keras
computes the real shapes; the JSON only needs the graph.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from horn._input_checks import (
    ELEMENTWISE_MERGE,
    check_concatenate,
    check_input_spec,
    merge_shape,
)
from horn._tensors import KerasTensor
from horn.schemas.tree import flatten

Shape = tuple[int | None, ...]

_SAME_SHAPE = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU",
    "Softmax", "BatchNormalization", "LayerNormalization", "GroupNormalization",
    "UnitNormalization", "Normalization", "Rescaling", "Masking", "ActivityRegularization",
    "Identity", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
    "RandomContrast", "RandomBrightness", "TimeDistributed",
}
_ELEMENTWISE_MERGE = ELEMENTWISE_MERGE
_RNN = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1, "ConvLSTM1D": 2, "ConvLSTM2D": 2,
        "ConvLSTM3D": 2}


@dataclass
class Node:
    """One call of a layer: its arguments (with symbolic tensors) and outputs."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    outputs: list[KerasTensor] = field(default_factory=list)


def nodes_of(layer: Any) -> list[Node]:
    """The calls recorded on a layer (or model used as a layer)."""
    nodes: list[Node] | None = layer.__dict__.get("_horn_nodes")
    if nodes is None:
        nodes = []
        layer.__dict__["_horn_nodes"] = nodes
    return nodes


def _class_name(layer: Any) -> str:
    return str(layer._serialize()["class_name"]) if hasattr(layer, "_serialize") \
        else type(layer).__name__


def _get(layer: Any, name: str, default: Any = None) -> Any:
    try:
        value = getattr(layer, name)
    except AttributeError:
        return default
    return default if value is None else value


def infer_shapes(layer: Any, inputs: list[KerasTensor], is_list: bool = True
                 ) -> list[Shape]:
    """Best-effort output shapes of one call (see the module docstring), checked as
    Keras checks them (`horn._input_checks`).

    Args:
        layer: The layer called.
        inputs: The symbolic tensors it was called on, flattened.
        is_list: Whether its first argument was a list (merge layers need one).
    """
    kind = _class_name(layer)
    first: Shape = inputs[0].shape if inputs else (None,)
    if kind == "Sequential":  # a nested model: fold its layers
        shapes = [first]
        for inner in layer.layers:
            probe = KerasTensor(shapes[0], inputs[0].dtype, "probe", None)
            shapes = infer_shapes(inner, [probe])
        return shapes[:1]
    if kind in ("Functional", "Model"):
        return [t.shape for t in layer.outputs]
    if kind in _ELEMENTWISE_MERGE:
        return [merge_shape(kind, [t.shape for t in inputs], is_list)]
    if kind in _SAME_SHAPE:
        return [first]
    if kind == "Dense":
        return [(*first[:-1], int(layer.units))]
    if kind == "Concatenate":
        axis = int(_get(layer, "axis", -1))
        check_concatenate([t.shape for t in inputs], axis, is_list)
        dims = [t.shape[axis] for t in inputs]
        total = None if any(d is None for d in dims) else sum(d for d in dims if d)
        shape = list(first)
        shape[axis] = total
        return [tuple(shape)]
    if kind == "Flatten":
        rest = first[1:]
        size = None if any(d is None for d in rest) else math.prod(d for d in rest if d)
        return [(first[0], size)]
    if kind == "Reshape":
        return [(first[0], *tuple(layer.target_shape))]
    if kind == "RepeatVector":
        return [(first[0], int(layer.n), *first[1:])]
    if kind == "Embedding":
        return [(*first, int(layer.output_dim))]
    if kind in _RNN or kind == "Bidirectional":
        return _recurrent_shapes(layer, kind, first)
    if kind in ("GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling2D",
                "GlobalMaxPooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling3D"):
        return [(first[0], first[-1])]
    return [tuple([first[0], *([None] * (len(first) - 1))])]


def _recurrent_shapes(layer: Any, kind: str, first: Shape) -> list[Shape]:
    if kind == "Bidirectional":
        inner = layer.layer
        inner_kind = _class_name(inner)
        units = int(inner.units)
        mode = _get(layer, "merge_mode", "concat")
        width = units * 2 if mode == "concat" else units
        seq = bool(_get(inner, "return_sequences", False))
        out: Shape = (first[0], first[1], width) if seq else (first[0], width)
        states = _RNN.get(inner_kind, 1) * 2 if _get(inner, "return_state", False) else 0
        return [out, *[(first[0], units)] * states]
    units = int(layer.units)
    seq = bool(_get(layer, "return_sequences", False))
    out = (first[0], first[1], units) if seq else (first[0], units)
    states = _RNN[kind] if _get(layer, "return_state", False) else 0
    return [out, *[(first[0], units)] * states]


def call_layer(layer: Any, *args: Any, **kwargs: Any) -> Any:
    """What `layer(inputs)` does on the client: record a node, return symbolic outputs."""
    tensors = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
    if not tensors:
        raise ValueError(
            f"Layer `{layer.name}` was called on {type(args[0]).__name__ if args else 'nothing'}"
            ", not on symbolic tensors. On horn, layers compute on the worker: call them "
            "on `keras.Input(...)` tensors (or outputs of other layers) to build a model, "
            "then use `fit`/`predict` with your arrays.")
    others = [a for a in flatten(args) if a is not None and not isinstance(a, KerasTensor)]
    if others:
        raise ValueError(f"Layer `{layer.name}` expects symbolic tensors as inputs. "
                         f"Received a {type(others[0]).__name__} among them.")
    nodes = nodes_of(layer)
    node = Node(args=args, kwargs=kwargs)
    node_index = len(nodes)
    first_arg = args[0] if args else kwargs.get("inputs")
    first = [t for t in flatten(first_arg) if isinstance(t, KerasTensor)]
    others_in_call = [t for t in flatten((args[1:], kwargs)) if isinstance(t, KerasTensor)
                      and not any(t is f for f in first)]
    if first:
        check_input_spec(_class_name(layer), str(layer.name), first)
    shapes = infer_shapes(layer, first + others_in_call,
                          is_list=isinstance(first_arg, (list, tuple, dict)))
    dtype = tensors[0].dtype
    for i, shape in enumerate(shapes):
        node.outputs.append(KerasTensor(shape, dtype, f"{layer.name}_{node_index}_{i}", layer,
                                        node_index, i))
    nodes.append(node)
    return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)


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
        if _class_name(layer) == "InputLayer":
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
        if _class_name(layer) != "InputLayer":
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
    from horn._objects import serialize

    if isinstance(value, KerasTensor):
        return _tensor_config(value, reindex)
    if isinstance(value, dict):
        return {k: _serialize_arg(v, reindex) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_arg(v, reindex) for v in value]
    return serialize(value)


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
        if _class_name(layer) == "InputLayer":
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
            if _class_name(producer) == "InputLayer":
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


def unique(values: Iterable[Any]) -> list[Any]:
    """Values in order, without repeats (by identity)."""
    out: list[Any] = []
    for value in values:
        if all(value is not seen for seen in out):
            out.append(value)
    return out
