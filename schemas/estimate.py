"""Estimate a model's size from its Keras JSON, without Keras.

`estimate_model` counts parameters layer by layer, propagating shapes through a
`Sequential` model from its `Input` (or from each layer's `build_config`, which Keras
writes for built layers of any model). A layer it has no formula for is skipped (and
named in `skipped`) rather than failing: the estimate is then a lower bound.

Example:
    >>> spec = {"class_name": "Sequential", "config": {"layers": [
    ...     {"class_name": "InputLayer", "config": {"batch_shape": [None, 784]}},
    ...     {"class_name": "Dense", "config": {"units": 10}}]}}
    >>> estimate_model(spec).params
    7850
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int | None, ...]

BYTES_PER_PARAM = 4
TRAINING_COPIES = 4
"""Weights, gradients and two optimizer slots (Adam): the memory a parameter costs."""

#: Layers whose output shape is their input shape and that own no parameters.
SHAPE_PRESERVING = frozenset({
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "Activation", "ReLU", "LeakyReLU",
    "ELU", "Softmax", "ThresholdedReLU", "ActivityRegularization", "Masking", "Rescaling",
    "Identity", "UnitNormalization", "RandomFlip", "RandomRotation", "RandomZoom",
    "RandomContrast", "RandomBrightness", "RandomTranslation",
})


@dataclass
class Estimate:
    """Parameters counted, and the layers that could not be counted."""

    params: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def training_bytes(self) -> int:
        """Memory for weights, gradients and optimizer state (activations excluded)."""
        return self.params * BYTES_PER_PARAM * TRAINING_COPIES


def _ints(value: Any, n: int) -> tuple[int, ...] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    if isinstance(value, list | tuple) and len(value) == n and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    return None


def _shape(value: Any) -> Shape | None:
    """A shape without its batch dimension, from `[null, 28, 28, 1]`."""
    if isinstance(value, list | tuple) and value and all(
            v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value):
        return tuple(value[1:])
    return None


def _conv_out(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    if n is None:
        return None
    if padding == "same" or padding == "causal":
        return math.ceil(n / s)
    return max(0, (n - d * (k - 1) - 1) // s + 1)


def _layer(class_name: str, cfg: dict[str, Any], shape: Shape | None
           ) -> tuple[int | None, Shape | None]:
    """(parameters or None when unknown, output shape or None)."""
    last = shape[-1] if shape else None
    bias = bool(cfg.get("use_bias", True))
    if class_name == "Dense":
        units = cfg.get("units")
        if not isinstance(units, int) or last is None or shape is None:
            return None, None
        return last * units + (units if bias else 0), (*shape[:-1], units)
    if class_name == "Embedding":
        i, o = cfg.get("input_dim"), cfg.get("output_dim")
        if not isinstance(i, int) or not isinstance(o, int):
            return None, None
        return i * o, ((*shape, o) if shape is not None else None)
    conv = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3, "DepthwiseConv1D": 1,
            "DepthwiseConv2D": 2, "SeparableConv1D": 1, "SeparableConv2D": 2}
    if class_name in conv and shape is not None and len(shape) == conv[class_name] + 1:
        rank = conv[class_name]
        first = cfg.get("data_format") == "channels_first"
        channels = shape[0] if first else shape[-1]
        spatial = shape[1:] if first else shape[:-1]
        k = _ints(cfg.get("kernel_size"), rank)
        s: tuple[int, ...] | None = _ints(cfg.get("strides", 1), rank) or (1,) * rank
        d = _ints(cfg.get("dilation_rate", 1), rank) or (1,) * rank
        if k is None or channels is None:
            return None, None
        taps = math.prod(k)
        dm = cfg.get("depth_multiplier", 1) if isinstance(cfg.get("depth_multiplier", 1),
                                                          int) else 1
        out_ch: Any
        if class_name.startswith("Depthwise"):
            out_ch = channels * dm
            params = taps * channels * dm + (out_ch if bias else 0)
        elif class_name.startswith("Separable"):
            out_ch = cfg.get("filters")
            if not isinstance(out_ch, int):
                return None, None
            params = taps * channels * dm + channels * dm * out_ch + (out_ch if bias else 0)
        else:
            out_ch = cfg.get("filters")
            groups = cfg.get("groups", 1) if isinstance(cfg.get("groups", 1), int) else 1
            if not isinstance(out_ch, int) or groups < 1:
                return None, None
            params = taps * (channels // groups) * out_ch + (out_ch if bias else 0)
        pad = str(cfg.get("padding", "valid")).lower()
        assert s is not None
        out_sp = tuple(_conv_out(n, k[i], s[i], d[i], pad) for i, n in enumerate(spatial))
        return params, ((out_ch, *out_sp) if first else (*out_sp, out_ch))
    rnn = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
    if class_name in rnn:
        units = cfg.get("units")
        if not isinstance(units, int) or last is None or shape is None:
            return None, None
        gates = rnn[class_name]
        params = gates * (last * units + units * units + (units if bias else 0))
        if class_name == "GRU" and cfg.get("reset_after", True) and bias:
            params += gates * units
        out = (*shape[:-1], units) if cfg.get("return_sequences") else (units,)
        return params, out
    if class_name == "Bidirectional":
        inner = cfg.get("layer")
        if not isinstance(inner, dict):
            return None, None
        inner_params, inner_out = _layer(str(inner.get("class_name")), inner.get("config") or {},
                                   shape)
        if inner_params is None or inner_out is None:
            return None, None
        last_out = inner_out[-1]
        if cfg.get("merge_mode", "concat") == "concat" and last_out is not None:
            inner_out = (*inner_out[:-1], last_out * 2)
        return 2 * inner_params, inner_out
    if class_name in ("BatchNormalization", "LayerNormalization", "GroupNormalization"):
        if shape is None:
            return None, None
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
        if not isinstance(axis, int) or not -len(shape) - 1 <= axis <= len(shape):
            return None, shape
        c = shape[axis] if axis < 0 else shape[axis - 1] if axis > 0 else None
        if c is None:
            return None, shape
        per = (int(cfg.get("center", True)) + int(cfg.get("scale", True)))
        return c * (per + (2 if class_name == "BatchNormalization" else 0)), shape
    if class_name in SHAPE_PRESERVING:
        return 0, shape
    if class_name == "Flatten":
        if shape is None:
            return 0, None
        known = None if any(v is None for v in shape) else math.prod(v or 1 for v in shape)
        return 0, (known,)
    if class_name == "Reshape":
        target = cfg.get("target_shape")
        return 0, tuple(target) if isinstance(target, list) else None
    pool = {"MaxPooling1D": 1, "AveragePooling1D": 1, "MaxPooling2D": 2,
            "AveragePooling2D": 2, "MaxPooling3D": 3, "AveragePooling3D": 3}
    if class_name in pool and shape is not None and len(shape) == pool[class_name] + 1:
        rank = pool[class_name]
        k = _ints(cfg.get("pool_size", 2), rank)
        s = _ints(cfg.get("strides"), rank) or k
        first = cfg.get("data_format") == "channels_first"
        spatial = shape[1:] if first else shape[:-1]
        if k is None or s is None:
            return 0, None
        pad = str(cfg.get("padding", "valid")).lower()
        out_sp = tuple(_conv_out(n, k[i], s[i], 1, pad) for i, n in enumerate(spatial))
        return 0, ((shape[0], *out_sp) if first else (*out_sp, shape[-1]))
    if class_name.startswith("Global") and shape is not None and len(shape) >= 2:
        first = cfg.get("data_format") == "channels_first"
        return 0, ((shape[0],) if first else (shape[-1],))
    return None, None


@dataclass
class LayerEstimate:
    """One layer of a spec: its output shape and parameters, where they can be computed."""

    name: str
    class_name: str
    params: int | None
    output_shape: Shape | None
    skipped: list[str] = field(default_factory=list)


def summarize_layers(spec: dict[str, Any]) -> list[LayerEstimate]:
    """Per-layer output shapes and parameter counts of a spec, in its layers' order
    (a `Sequential` propagates shapes; functional layers use their `build_config`)."""
    out: list[LayerEstimate] = []
    config = spec.get("config")
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        return out
    sequential = spec.get("class_name") == "Sequential"
    shape: Shape | None = None
    if sequential and isinstance(spec.get("build_config"), dict):
        shape = _shape(spec["build_config"].get("input_shape"))
    for layer in layers[:100_000]:
        if not isinstance(layer, dict):
            continue
        class_name = str(layer.get("class_name"))
        cfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        assert isinstance(cfg, dict)
        name = str(cfg.get("name") or layer.get("name") or class_name)
        if class_name == "InputLayer":
            shape = _shape(cfg.get("batch_shape") or cfg.get("batch_input_shape"))
            out.append(LayerEstimate(name, class_name, 0, shape))
            continue
        build = layer.get("build_config")
        if isinstance(build, dict) and _shape(build.get("input_shape")) is not None:
            shape = _shape(build.get("input_shape"))
        elif not sequential:
            shape = None
        if class_name in ("Sequential", "Functional", "Model"):
            inner = estimate_model(layer)
            out.append(LayerEstimate(name, class_name, inner.params, None, inner.skipped))
            shape = None
            continue
        params, shape = _layer(class_name, cfg, shape)
        out.append(LayerEstimate(name, class_name, params, shape))
    return out


def estimate_model(spec: dict[str, Any]) -> Estimate:
    """Count the parameters of a model spec (`to_json()` format); see the module doc."""
    result = Estimate()
    for layer in summarize_layers(spec):
        if layer.params is None:
            result.skipped.append(layer.name)
        else:
            result.params += layer.params
            result.skipped += layer.skipped
    return result
