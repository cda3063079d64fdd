"""Keras's checks of a layer call, done on the client when a functional graph is built.

Keras raises these as soon as a layer is called on symbolic tensors: a layer given the
wrong number of inputs or inputs of the wrong rank (its `InputSpec`), and merge layers
given shapes that do not fit together. horn raises the same `ValueError`, with Keras's
message, before anything is sent.
"""

from __future__ import annotations

from typing import Any

Shape = tuple[int | None, ...]

_NDIM: dict[str, int] = {
    **dict.fromkeys(("AveragePooling1D", "Cropping1D", "GRU", "GlobalAveragePooling1D",
                     "GlobalMaxPooling1D", "LSTM", "MaxPooling1D", "SimpleRNN",
                     "SpatialDropout1D", "UpSampling1D", "ZeroPadding1D"), 3),
    **dict.fromkeys(("AveragePooling2D", "ConvLSTM1D", "Cropping2D", "GlobalAveragePooling2D",
                     "GlobalMaxPooling2D", "MaxPooling2D", "SpatialDropout2D",
                     "UpSampling2D", "ZeroPadding2D"), 4),
    **dict.fromkeys(("AveragePooling3D", "ConvLSTM2D", "Cropping3D", "GlobalAveragePooling3D",
                     "GlobalMaxPooling3D", "MaxPooling3D", "SpatialDropout3D",
                     "UpSampling3D", "ZeroPadding3D"), 5),
    "ConvLSTM3D": 6, "Permute": 2, "RepeatVector": 2,
}
"""Layers whose `InputSpec` fixes the rank of their one input (as Keras 3 builds them)."""

_MIN_NDIM: dict[str, int] = {
    **dict.fromkeys(("Conv1D", "Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D"), 3),
    **dict.fromkeys(("Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"), 4),
    **dict.fromkeys(("Conv3D", "Conv3DTranspose"), 5),
    "Dense": 2, "Flatten": 1,
}
"""Layers whose `InputSpec` sets a minimum rank of their one input."""

ELEMENTWISE_MERGE = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum",
                               "Minimum"})


def _shape(shape: Shape) -> str:
    return str(tuple(shape))


def check_input_spec(kind: str, layer_name: str, first_arg: list[Any]) -> None:
    """Keras's `assert_input_compatibility` for layers with a one-input `InputSpec`.

    Args:
        kind: The layer's class name.
        layer_name: Its name, for the message.
        first_arg: The symbolic tensors of the call's first argument, flattened.

    Raises:
        ValueError: Keras's message, for the wrong number of inputs or the wrong rank.
    """
    if kind not in _NDIM and kind not in _MIN_NDIM:
        return
    if len(first_arg) != 1:
        raise ValueError(f'Layer "{layer_name}" expects 1 input(s), but it received '
                         f"{len(first_arg)} input tensors. Inputs received: {first_arg}")
    shape = tuple(first_arg[0].shape)
    ndim = len(shape)
    head = f"Input 0 with name 'None' of layer '{layer_name}' is incompatible with the layer:"
    if kind in _NDIM and ndim != _NDIM[kind]:
        raise ValueError(f"{head} expected ndim={_NDIM[kind]}, found ndim={ndim}. "
                         f"Full shape received: {_shape(shape)}")
    if kind in _MIN_NDIM and ndim < _MIN_NDIM[kind]:
        raise ValueError(f"{head} expected min_ndim={_MIN_NDIM[kind]}, found ndim={ndim}. "
                         f"Full shape received: {_shape(shape)}")


def _elementwise(shape1: Shape | None, shape2: Shape | None) -> Shape | None:
    """Keras's `Merge._compute_elemwise_op_output_shape` (broadcasting sizes of 1)."""
    if shape1 is None or shape2 is None:
        return None
    if len(shape1) < len(shape2):
        return _elementwise(shape2, shape1)
    if not shape2:
        return shape1
    out: list[int | None] = list(shape1[: -len(shape2)])
    for i, j in zip(shape1[-len(shape2):], shape2, strict=True):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError("Inputs have incompatible shapes. "
                             f"Received shapes {_shape(shape1)} and {_shape(shape2)}")
    return tuple(out)


def merge_shape(kind: str, shapes: list[Shape], is_list: bool) -> Shape:
    """The output shape of an elementwise merge layer, checked as Keras's `build` does.

    Raises:
        ValueError: not called on a list, different batch sizes, incompatible shapes.
    """
    if not is_list:
        raise ValueError("A merge layer should be called on a list of inputs. Received: "
                         f"input_shape={_shape(shapes[0])} (not a list of shapes)")
    batch_sizes = {s[0] for s in shapes if s} - {None}
    if len(batch_sizes) > 1:
        raise ValueError("Cannot merge tensors with different batch sizes. Received tensors "
                         f"with shapes {[tuple(s) for s in shapes]}")
    out: Shape | None = tuple(shapes[0][1:])
    for shape in shapes[1:]:
        out = _elementwise(out, tuple(shape[1:]))
    if kind == "Subtract" and len(shapes) != 2:
        raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                         f"Received: input_shape={[tuple(s) for s in shapes]}")
    batch = next(iter(batch_sizes)) if batch_sizes else None
    if out is None or len({len(s) for s in shapes}) != 1:
        return tuple(shapes[0])  # ranks differ: Keras reshapes; keep the first input's
    return (batch, *out)


def check_concatenate(shapes: list[Shape], axis: int, is_list: bool) -> None:
    """Keras's `Concatenate.build` check: equal sizes except along `axis`.

    Raises:
        ValueError: Keras's message.
    """
    if not is_list or not shapes:
        raise ValueError("A `Concatenate` layer should be called on a list of at least 1 "
                         f"input. Received: input_shape={_shape(shapes[0]) if shapes else []}")
    message = ("A `Concatenate` layer requires inputs with matching shapes except for the "
               f"concatenation axis. Received: input_shape={[tuple(s) for s in shapes]}")
    if len({len(s) for s in shapes}) != 1:
        raise ValueError(message)
    rank = len(shapes[0])
    concat_axis = axis % rank
    for position in range(rank):
        if position == concat_axis:
            continue
        if len({s[position] for s in shapes if s[position] is not None}) > 1:
            raise ValueError(message)
