"""Sample constructor arguments for catalog classes whose arguments are required."""

from __future__ import annotations

from typing import Any

from horn.keras import layers, losses, optimizers

#: Values by argument name, used when a required argument has no class-specific value.
BY_NAME: dict[str, Any] = {
    "units": 2,
    "filters": 2,
    "kernel_size": 3,
    "rate": 0.5,
    "pool_size": 2,
    "output_size": 2,
    "height": 4,
    "width": 4,
    "factor": 0.1,
    "height_factor": 0.1,
    "width_factor": 0.1,
    "stddev": 0.1,
    "axes": 1,
    "dims": (2, 1),
    "n": 3,
    "scale": 0.5,
    "target_shape": (2, 2),
    "num_bins": 4,
    "num_heads": 2,
    "key_dim": 4,
    "head_dim": 4,
    "num_query_heads": 2,
    "num_key_value_heads": 1,
    "equation": "ab,bc->ac",
    "output_shape": 4,
    "input_dim": 10,
    "output_dim": 4,
    "max_number": 2,
    "activation": "relu",
    "initial_learning_rate": 0.1,
    "decay_steps": 100,
    "first_decay_steps": 100,
    "decay_rate": 0.9,
    "boundaries": [10, 20],
    "values": [0.1, 0.01, 0.001],
    "num_classes": 3,
    "target_class_ids": [0, 1],
    "recall": 0.5,
    "precision": 0.5,
    "specificity": 0.5,
    "sensitivity": 0.5,
}


def by_class() -> dict[tuple[str, str], dict[str, Any]]:
    """Arguments that depend on the class (nested objects), built fresh each call."""
    return {
        ("layers", "Bidirectional"): {"layer": layers.LSTM(2)},
        ("layers", "TimeDistributed"): {"layer": layers.Dense(2)},
        ("layers", "SpectralNormalization"): {"layer": layers.Dense(2)},
        ("layers", "RNN"): {"cell": layers.LSTMCell(2)},
        ("layers", "StackedRNNCells"): {"cells": [layers.LSTMCell(2), layers.GRUCell(2)]},
        ("layers", "Pipeline"): {"layers": [layers.RandomFlip(), layers.RandomZoom(0.1)]},
        ("layers", "InputLayer"): {"shape": (4,)},
        ("layers", "CategoryEncoding"): {"num_tokens": 4},
        ("layers", "Discretization"): {"num_bins": 4},
        ("layers", "RandomPosterization"): {"factor": 4},
        ("optimizers", "LossScaleOptimizer"): {"inner_optimizer": optimizers.SGD()},
        ("metrics", "MeanMetricWrapper"): {"fn": losses.mean_squared_error},
    }


def sample_kwargs(category: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments that build ``category.name`` (required ones only)."""
    special = by_class().get((category, name), {})
    kwargs: dict[str, Any] = {}
    for param in entry["params"]:
        if "default" in param or "default_repr" in param:
            continue
        pname = param["name"]
        if pname in special:
            kwargs[pname] = special[pname]
        elif pname in BY_NAME:
            kwargs[pname] = BY_NAME[pname]
        else:
            raise KeyError(f"no sample value for {category}.{name}({pname}=...)")
    return {**kwargs, **special}
