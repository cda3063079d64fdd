"""The base class of each category's generated classes (``keras.layers.Layer``, ...).

`Layer` adds what every Keras layer has: a unique ``.name``, ``.trainable`` and a
call on symbolic inputs (the functional API, installed by `register_layer_call`).
The other bases only fix the category. `BASES` maps a catalog category to its base.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from horn._mirror.naming import auto_name
from horn._mirror.objects import KerasObject, config_value

_LAYER_CALL: list[Callable[..., Any]] = []


class Layer(KerasObject):
    """Base of horn's built-in layers (``keras.layers.Layer``).

    Custom subclasses are not supported: their Python code would have to run on the
    worker. Layers carry ``.name`` (Keras's automatic names: ``dense``, ``dense_1``...)
    and ``.trainable``.
    """

    _category = "layers"

    def _post_init(self) -> None:
        name = self._horn_values.get("name")
        if name is None:
            name = auto_name(type(self).__name__)
        elif not isinstance(name, str):
            raise ValueError(f"Argument `name` must be a string. Received: name={name!r}")
        self._horn_values["name"] = name
        trainable = self._horn_values.get("trainable", True)
        if not isinstance(trainable, bool):
            raise ValueError(
                "Expected `trainable` to be a boolean. "
                f"Received: trainable={trainable} (of type {type(trainable)})"
            )

    @property
    def name(self) -> str:
        """The layer's unique name."""
        name: str = self._horn_values["name"]
        return name

    @property
    def trainable(self) -> bool:
        """Whether the layer's weights are updated by training."""
        return bool(self._horn_values.get("trainable", True))

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._horn_values["trainable"] = bool(value)

    def get_config(self) -> dict[str, Any]:
        """The layer's config: ``name``, ``trainable``, ``dtype``, then its arguments."""
        params = type(self)._params
        head: dict[str, Any] = {"name": self.name}
        if "trainable" in params:
            head["trainable"] = self.trainable
        if "dtype" in params:
            head["dtype"] = config_value(self._horn_values.get("dtype"))
        rest = super().get_config()
        return {**head, **{k: v for k, v in rest.items() if k not in head}}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the layer on symbolic inputs (functional API); see `register_layer_call`."""
        if not _LAYER_CALL:
            raise NotImplementedError(
                f"Layer `{self.name}` computes on the horn worker; call it on `keras.Input` "
                "tensors to build a functional model."
            )
        return _LAYER_CALL[-1](self, *args, **kwargs)


def register_layer_call(handler: Callable[..., Any]) -> None:
    """Install what ``layer(inputs)`` does (the functional API lives in ``horn.keras.models``).

    Args:
        handler: Called as ``handler(layer, *args, **kwargs)``; its result is returned.
    """
    _LAYER_CALL.append(handler)


class Optimizer(KerasObject):
    """Base of horn's built-in optimizers (``keras.optimizers.Optimizer``)."""

    _category = "optimizers"


class LearningRateSchedule(KerasObject):
    """Base of horn's learning-rate schedules (``keras.optimizers.schedules``)."""

    _category = "schedules"


class Loss(KerasObject):
    """Base of horn's built-in loss classes (``keras.losses.Loss``)."""

    _category = "losses"


class Metric(KerasObject):
    """Base of horn's built-in metric classes (``keras.metrics.Metric``)."""

    _category = "metrics"


class Initializer(KerasObject):
    """Base of horn's built-in initializers (``keras.initializers.Initializer``)."""

    _category = "initializers"


class Regularizer(KerasObject):
    """Base of horn's built-in regularizers (``keras.regularizers.Regularizer``)."""

    _category = "regularizers"


class Constraint(KerasObject):
    """Base of horn's built-in constraints (``keras.constraints.Constraint``)."""

    _category = "constraints"


class RemoteCallback(KerasObject):
    """Base of the built-in callbacks horn runs on the worker (EarlyStopping, ...)."""

    _category = "callbacks"
    _remote = True


#: The base class of each category's generated classes.
BASES: dict[str, type[KerasObject]] = {
    "layers": Layer,
    "optimizers": Optimizer,
    "schedules": LearningRateSchedule,
    "losses": Loss,
    "metrics": Metric,
    "initializers": Initializer,
    "regularizers": Regularizer,
    "constraints": Constraint,
    "callbacks": RemoteCallback,
}
