"""Layer calls on symbolic tensors: the node each call records and its output shapes.

Output shapes are inferred for the common layers (Dense, Dropout, activations,
normalization, merges, Flatten, Reshape, Embedding, recurrent layers, RepeatVector...);
for others the rank is kept and the sizes are unknown (`None`). The worker's Keras
computes the real shapes; the JSON only needs the graph.
"""

from __future__ import annotations

import math
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


def class_name(layer: Any) -> str:
    """The Keras class name of a layer or model (`"Dense"`, `"Sequential"`...)."""
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
    kind = class_name(layer)
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
        inner_kind = class_name(inner)
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
        check_input_spec(class_name(layer), str(layer.name), first)
    shapes = infer_shapes(layer, first + others_in_call,
                          is_list=isinstance(first_arg, (list, tuple, dict)))
    dtype = tensors[0].dtype
    for i, shape in enumerate(shapes):
        node.outputs.append(KerasTensor(shape, dtype, f"{layer.name}_{node_index}_{i}", layer,
                                        node_index, i))
    nodes.append(node)
    return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)
