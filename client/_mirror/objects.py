"""The client-side mirrors of Keras objects: `KerasObject` and `KerasFunction`.

`KerasObject` binds constructor arguments exactly like the Keras class and serializes
to the JSON Keras itself writes; `KerasFunction` stands for a built-in function (an
activation, loss or metric) sent by name. Values passed in are converted to plain
data here, and Python code is refused. The category bases (`Layer`, `Optimizer`, ...)
are in ``horn._mirror.bases``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from horn._mirror.arguments import bind_arguments
from horn.schemas.catalog import load_catalog, suggest

#: Python module of each category's client namespace.
NAMESPACE_MODULES = {
    "layers": "horn.keras.layers",
    "optimizers": "horn.keras.optimizers",
    "schedules": "horn.keras.optimizers.schedules",
    "losses": "horn.keras.losses",
    "metrics": "horn.keras.metrics",
    "activations": "horn.keras.activations",
    "initializers": "horn.keras.initializers",
    "regularizers": "horn.keras.regularizers",
    "constraints": "horn.keras.constraints",
    "callbacks": "horn.keras.callbacks",
}

#: How Keras's "Could not interpret ... identifier" names the categories passed by name.
IDENTIFIER_KIND = {
    "activations": "activation function",
    "initializers": "initializer",
    "regularizers": "regularizer",
    "constraints": "constraint",
}


# --------------------------------------------------------------------------- values


class ReprDefault:
    """A default shown by its repr in signatures (a default that is not JSON data)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def to_value(value: Any, where: str) -> Any:
    """Convert a user value into what a config may hold; refuse Python code.

    Args:
        value: What the user passed.
        where: The argument, for messages (``"Dense(`activation`)"``).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, KerasObject | KerasFunction):
        return value
    if isinstance(value, type) and issubclass(value, KerasObject):
        return value()
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, list):
        return [to_value(v, where) for v in value]
    if isinstance(value, tuple):
        return tuple(to_value(v, where) for v in value)
    if isinstance(value, dict):
        return {str(k): to_value(v, where) for k, v in value.items()}
    if callable(value):
        raise TypeError(
            f"{where} received a Python callable ({value!r}); horn never sends Python code "
            "to the worker. Pass a built-in by name (for example activation=\"relu\") or a "
            "built-in Keras object."
        )
    raise TypeError(f"{where} received a value horn cannot send: {value!r} ({type(value)})")


def config_value(value: Any) -> Any:
    """The JSON-ready form of a stored value (nested objects serialized like Keras)."""
    if isinstance(value, KerasObject):
        return value._serialize()
    if isinstance(value, KerasFunction):
        return value.__name__
    if isinstance(value, list):
        return [config_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(config_value(v) for v in value)
    if isinstance(value, dict):
        return {k: config_value(v) for k, v in value.items()}
    return value


def _identifier_category(param: str) -> str | None:
    if param == "activation" or param.endswith("_activation"):
        return "activations"
    for suffix, category in (
        ("_initializer", "initializers"),
        ("_regularizer", "regularizers"),
        ("_constraint", "constraints"),
    ):
        if param.endswith(suffix):
            return category
    return None


def _check_identifier(param: str, value: Any) -> None:
    category = _identifier_category(param)
    if category is None or not isinstance(value, str):
        return
    catalog = load_catalog()
    if catalog.canonical(category, value) is None:
        hint = suggest(value, catalog.names(category))
        raise ValueError(
            f"Could not interpret {IDENTIFIER_KIND[category]} identifier: {value}"
            + (f". Did you mean `{hint}`?" if hint else "")
        )


# --------------------------------------------------------------------------- functions


class KerasFunction:
    """A built-in Keras function (activation, loss or metric), referenced by name.

    It serializes to its name; the computation itself runs on the horn worker.

    Args:
        category: ``"activations"``, ``"losses"`` or ``"metrics"``.
        name: The Keras function name, e.g. ``"relu"``.
    """

    def __init__(self, category: str, name: str) -> None:
        self._category = category
        self.__name__ = name
        self.__qualname__ = name
        self.__module__ = NAMESPACE_MODULES[category]
        entry = load_catalog().entry(category, name) or {}
        summary = entry.get("summary")
        self.__doc__ = (f"{summary}\n\n" if summary else "") + (
            f"Keras `keras.{category}.{name}`. Pass it to a layer or to `compile()`; "
            "it computes on the horn worker."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"`keras.{self._category}.{self.__name__}` computes on the horn worker, not in "
            "this process. Pass it to a layer or to `compile()` (it is sent by name)."
        )

    def _serialize(self) -> str:
        return self.__name__

    def __repr__(self) -> str:
        return f"<function keras.{self._category}.{self.__name__}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, KerasFunction)
            and other._category == self._category
            and other.__name__ == self.__name__
        )

    def __hash__(self) -> int:
        return hash((self._category, self.__name__))


# --------------------------------------------------------------------------- objects


class KerasObject:
    """Base of every catalog-generated Keras mirror (a layer, optimizer, loss, ...).

    Subclasses are the generated classes of ``horn.keras`` (bound to the catalog by
    ``horn._mirror.classes.mirror``); each binds its constructor arguments exactly like
    the Keras class and serializes like Keras.
    """

    _category: ClassVar[str] = ""
    _entry: ClassVar[dict[str, Any]] = {}
    _params: ClassVar[dict[str, inspect.Parameter]] = {}
    _declared: ClassVar[tuple[str, ...]] = ()
    _remote: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if not cls._entry:
            raise TypeError(
                f"`{cls.__name__}` cannot be used on horn: only built-in Keras classes run "
                "on the worker, and custom subclasses would run your Python code there. "
                "Use a built-in class from the same namespace."
            )
        self._horn_passed: dict[str, Any] = bind_arguments(cls.__name__, cls._params,
                                                            args, kwargs)
        self._horn_values: dict[str, Any] = {}
        for pname, value in self._horn_passed.items():
            _check_identifier(pname, value)
            self._horn_values[pname] = to_value(value, f"{cls.__name__}(`{pname}`)")
        self._post_init()
        super().__init__()

    def _post_init(self) -> None:
        """Hook for subclasses, run after arguments are bound."""

    def _value(self, pname: str) -> Any:
        """The value of a parameter: as passed, else its JSON default."""
        if pname in self._horn_values:
            return self._horn_values[pname]
        default = self._params[pname].default
        if isinstance(default, ReprDefault) or default is inspect.Parameter.empty:
            return None
        return default

    def _has_value(self, pname: str) -> bool:
        if pname in self._horn_values:
            return True
        default = self._params[pname].default
        return not isinstance(default, ReprDefault) and default is not inspect.Parameter.empty

    def get_config(self) -> dict[str, Any]:
        """The object's config, as Keras's ``get_config()`` gives it.

        Every declared argument appears with its default filled in (arguments whose
        Keras default is not plain data appear only when passed); other keyword
        arguments appear when passed.

        Returns:
            A dict of JSON-ready values; nested Keras objects are serialized.
        """
        config: dict[str, Any] = {}
        for pname in self._declared:
            if self._has_value(pname):
                config[pname] = config_value(self._value(pname))
        for pname, value in self._horn_values.items():
            if pname not in config:
                config[pname] = config_value(value)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        """Rebuild the object from a `get_config()` dict.

        Args:
            config: The dict `get_config()` returned.

        Returns:
            A new instance of this class.
        """
        return cls(**config)

    def _serialize(self) -> dict[str, Any]:
        """The object in Keras's serialized format (what ``to_json()`` nests)."""
        return {
            "module": self._entry["module"],
            "class_name": self._entry["class_name"],
            "config": self.get_config(),
            "registered_name": None,
        }

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        params = type(self)._params
        if attr in params:
            return self._value(attr)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{attr}'")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._horn_passed.items())
        return f"<{type(self).__name__}({args})>"
