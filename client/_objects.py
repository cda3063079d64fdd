"""Catalog-driven mirrors of Keras objects (layers, optimizers, losses, ...), no Keras needed.

Every class in ``client.layers``, ``client.optimizers``, ... is generated from the
Keras catalog (``schemas/keras_catalog.json``): it takes exactly the arguments the
Keras class takes, fails with Keras's words when they are wrong, and serializes to the
JSON Keras itself writes, which the horn worker rebuilds with real Keras.

Example:
    >>> from client import layers
    >>> layers.Dense(3, activation="relu")._serialize()["class_name"]
    'Dense'
"""

from __future__ import annotations

import collections
import importlib
import inspect
import re
from collections.abc import Callable, MutableMapping
from typing import Any, ClassVar

from schemas.catalog import KIND, forbidden_message, load_catalog, suggest

__all__ = [
    "Constraint",
    "ForbiddenObjectError",
    "Initializer",
    "KerasFunction",
    "KerasObject",
    "Layer",
    "LearningRateSchedule",
    "Loss",
    "Metric",
    "Optimizer",
    "Regularizer",
    "RemoteCallback",
    "UnknownArgumentError",
    "auto_name",
    "build_namespace",
    "deserialize",
    "get",
    "missing_attribute",
    "register_layer_call",
    "reset_names",
    "serialize",
    "to_snake_case",
]

#: Python module of each category's client namespace.
NAMESPACE_MODULES = {
    "layers": "client.layers",
    "optimizers": "client.optimizers",
    "schedules": "client.optimizers.schedules",
    "losses": "client.losses",
    "metrics": "client.metrics",
    "activations": "client.activations",
    "initializers": "client.initializers",
    "regularizers": "client.regularizers",
    "constraints": "client.constraints",
    "callbacks": "client.callbacks",
}

_IDENTIFIER_KIND = {
    "activations": "activation function",
    "initializers": "initializer",
    "regularizers": "regularizer",
    "constraints": "constraint",
}

_REGISTRY: dict[tuple[str, str], type[KerasObject]] = {}
_FUNCTIONS: dict[tuple[str, str], KerasFunction] = {}
_LAYER_CALL: list[Callable[..., Any]] = []


class UnknownArgumentError(ValueError, TypeError):
    """An argument the Keras class does not take (a misspelling, usually)."""


class ForbiddenObjectError(ValueError):
    """A Keras object horn never runs (it runs arbitrary code or reads files/URLs)."""


# --------------------------------------------------------------------------- naming


def to_snake_case(name: str) -> str:
    """Keras's snake-case rule (``keras.src.utils.naming.to_snake_case``).

    Example:
        >>> to_snake_case("Conv2DTranspose")
        'conv2d_transpose'
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_name_uids: collections.defaultdict[str, int] = collections.defaultdict(int)


def auto_name(prefix: str) -> str:
    """A unique name like Keras gives: ``dense``, then ``dense_1``, ``dense_2``...

    Args:
        prefix: A class name (``"Dense"``) or prefix; it is snake-cased first.

    Returns:
        The unique name; the counter is per prefix and process-global.
    """
    prefix = to_snake_case(prefix)
    count = _name_uids[prefix]
    _name_uids[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Restart automatic naming (like ``keras.backend.clear_session()`` does)."""
    _name_uids.clear()


# --------------------------------------------------------------------------- values


class _Repr:
    """A default shown by its repr in signatures (a default that is not JSON data)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _to_value(value: Any, where: str) -> Any:
    """Convert a user value into what a config may hold; refuse Python code."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, KerasObject | KerasFunction):
        return value
    if isinstance(value, type) and issubclass(value, KerasObject):
        return value()
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, list):
        return [_to_value(v, where) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_value(v, where) for v in value)
    if isinstance(value, dict):
        return {str(k): _to_value(v, where) for k, v in value.items()}
    if callable(value):
        raise TypeError(
            f"{where} received a Python callable ({value!r}); horn never sends Python code "
            "to the worker. Pass a built-in by name (for example activation=\"relu\") or a "
            "built-in Keras object."
        )
    raise TypeError(f"{where} received a value horn cannot send: {value!r} ({type(value)})")


def _config_value(value: Any) -> Any:
    """The JSON-ready form of a stored value (nested objects serialized like Keras)."""
    if isinstance(value, KerasObject):
        return value._serialize()
    if isinstance(value, KerasFunction):
        return value.__name__
    if isinstance(value, list):
        return [_config_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_config_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _config_value(v) for k, v in value.items()}
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
            f"Could not interpret {_IDENTIFIER_KIND[category]} identifier: {value}"
            + (f". Did you mean `{hint}`?" if hint else "")
        )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _quoted_list(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


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
        self.__doc__ = (
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

    Subclasses are generated by `build_namespace`; each binds its constructor
    arguments exactly like the Keras class and serializes like Keras.
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
        self._horn_passed: dict[str, Any] = self._bind(args, kwargs)
        self._horn_values: dict[str, Any] = {}
        for pname, value in self._horn_passed.items():
            _check_identifier(pname, value)
            self._horn_values[pname] = _to_value(value, f"{cls.__name__}(`{pname}`)")
        self._post_init()
        super().__init__()

    def _post_init(self) -> None:
        """Hook for subclasses, run after arguments are bound."""

    @classmethod
    def _bind(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Bind arguments like Python, with Keras's wording for unknown keywords."""
        name = cls.__name__
        params = cls._params
        positional = [
            p for p in params.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        ]
        if len(args) > len(positional):
            required = sum(p.default is inspect.Parameter.empty for p in positional)
            most = len(positional) + 1
            takes = (
                f"{_plural(most, 'positional argument')}"
                if required + 1 == most
                else f"from {required + 1} to {most} positional arguments"
            )
            given = len(args) + 1
            raise TypeError(
                f"{name}.__init__() takes {takes} but {given} "
                f"{'was' if given == 1 else 'were'} given"
            )
        bound = {p.name: v for p, v in zip(positional, args, strict=False)}
        for key, value in kwargs.items():
            if key not in params:
                hint = suggest(key, list(params))
                message = f"Unknown argument `{key}` for {name}."
                if hint:
                    message += f" Did you mean `{hint}`?"
                else:
                    message += " Accepted arguments: " + ", ".join(f"`{p}`" for p in params) + "."
                raise UnknownArgumentError(message)
            if key in bound:
                raise TypeError(f"{name}.__init__() got multiple values for argument '{key}'")
            bound[key] = value
        missing_pos = [p.name for p in positional if p.default is inspect.Parameter.empty
                       and p.name not in bound]
        if missing_pos:
            raise TypeError(
                f"{name}.__init__() missing {len(missing_pos)} required positional "
                f"argument{'s' if len(missing_pos) > 1 else ''}: {_quoted_list(missing_pos)}"
            )
        missing_kw = [
            p.name
            for p in params.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
            and p.default is inspect.Parameter.empty
            and p.name not in bound
        ]
        if missing_kw:
            raise TypeError(
                f"{name}.__init__() missing {len(missing_kw)} required keyword-only "
                f"argument{'s' if len(missing_kw) > 1 else ''}: {_quoted_list(missing_kw)}"
            )
        return bound

    def _value(self, pname: str) -> Any:
        """The value of a parameter: as passed, else its JSON default."""
        if pname in self._horn_values:
            return self._horn_values[pname]
        default = self._params[pname].default
        return None if isinstance(default, _Repr) or default is inspect.Parameter.empty else default

    def _has_value(self, pname: str) -> bool:
        if pname in self._horn_values:
            return True
        default = self._params[pname].default
        return not isinstance(default, _Repr) and default is not inspect.Parameter.empty

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
                config[pname] = _config_value(self._value(pname))
        for pname, value in self._horn_values.items():
            if pname not in config:
                config[pname] = _config_value(value)
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
            head["dtype"] = _config_value(self._horn_values.get("dtype"))
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
    """Install what ``layer(inputs)`` does (the functional API lives in ``client.models``).

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


# --------------------------------------------------------------------------- namespaces


def _parameters(category: str, entry: dict[str, Any]) -> dict[str, inspect.Parameter]:
    params: dict[str, inspect.Parameter] = {}
    for spec in entry["params"]:
        kind = (
            inspect.Parameter.KEYWORD_ONLY
            if spec["kind"] == "keyword_only"
            else inspect.Parameter.POSITIONAL_OR_KEYWORD
        )
        if "default" in spec:
            default = spec["default"]
            if isinstance(default, list):
                default = tuple(default) if category == "layers" else default
        elif "default_repr" in spec:
            default = _Repr(spec["default_repr"])
        else:
            default = inspect.Parameter.empty
        params[spec["name"]] = inspect.Parameter(spec["name"], kind, default=default)
    if entry.get("var_kwargs"):
        extra: list[dict[str, Any]] = []
        if entry.get("kwargs_to_base"):
            extra += load_catalog().base_kwargs(category)
        extra += [{"name": n, "default": None} for n in entry.get("kwargs_read", [])]
        for spec in extra:
            if spec["name"] not in params:
                params[spec["name"]] = inspect.Parameter(
                    spec["name"], inspect.Parameter.KEYWORD_ONLY, default=spec.get("default")
                )
    return params


def _signature(params: dict[str, inspect.Parameter]) -> inspect.Signature:
    ordered = sorted(
        params.values(),
        key=lambda p: p.kind is inspect.Parameter.KEYWORD_ONLY,
    )
    return inspect.Signature(ordered)


def _docstring(category: str, entry: dict[str, Any], params: dict[str, inspect.Parameter]) -> str:
    lines = [
        f"Keras `{entry['module']}.{entry['class_name']}`, run by the horn worker.",
        "",
        "Takes exactly the arguments of the Keras class; see the Keras documentation for",
        "what each one does.",
        "",
        "Args:",
    ]
    for p in params.values():
        if p.default is inspect.Parameter.empty:
            lines.append(f"    {p.name}: required.")
        else:
            lines.append(f"    {p.name}: default {p.default!r}.")
    return "\n".join(lines)


def _forbidden_class(category: str, name: str) -> type:
    message = forbidden_message(load_catalog(), category, name)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise ForbiddenObjectError(message)

    return type(name, (), {"__init__": __init__, "__doc__": message, "_forbidden": message})


def build_namespace(
    category: str,
    namespace_globals: MutableMapping[str, Any],
    *,
    extra_bases: tuple[type, ...] = (),
    overrides: dict[str, type[KerasObject]] | None = None,
) -> list[str]:
    """Create the classes and functions of one Keras namespace from the catalog.

    Names already present in ``namespace_globals`` are left alone, so a module can
    define some names itself first.

    Args:
        category: A catalog category, e.g. ``"layers"``.
        namespace_globals: The module's ``globals()``; names are added to it.
        extra_bases: Bases every generated class also gets (e.g. the local Callback).
        overrides: Class name -> base class to use instead of the category base.

    Returns:
        The public names added or kept (classes, aliases, functions, forbidden stubs).
    """
    catalog = load_catalog()
    module_name = str(namespace_globals.get("__name__", NAMESPACE_MODULES[category]))
    overrides = overrides or {}
    names: list[str] = []
    for class_name in catalog.class_names(category):
        if class_name in namespace_globals:
            names.append(class_name)
            continue
        entry = catalog.entry(category, class_name) or {}
        params = _parameters(category, entry)
        base = overrides.get(class_name, BASES[category])
        attrs: dict[str, Any] = {
            "_category": category,
            "_entry": entry,
            "_params": params,
            "_declared": tuple(p["name"] for p in entry["params"]),
            "__signature__": _signature(params),
            "__doc__": _docstring(category, entry, params),
            "__module__": module_name,
            "__qualname__": class_name,
        }
        if category == "callbacks":
            attrs["_remote"] = bool(entry.get("remote"))
        cls = type(class_name, (base, *extra_bases), attrs)
        _REGISTRY[(category, class_name)] = cls
        namespace_globals[class_name] = cls
        names.append(class_name)
    for name in catalog.function_names(category):
        fn = namespace_globals.setdefault(name, KerasFunction(category, name))
        if isinstance(fn, KerasFunction):
            _FUNCTIONS[(category, name)] = fn
        names.append(name)
    for alias, target in catalog.aliases(category).items():
        if alias.isidentifier() and alias not in namespace_globals and target in namespace_globals:
            namespace_globals[alias] = namespace_globals[target]
            names.append(alias)
    for name in catalog.forbidden(category):
        if name not in namespace_globals:
            namespace_globals[name] = _forbidden_class(category, name)
        names.append(name)
    return sorted(set(names))


# --------------------------------------------------------------------------- helpers


def _namespace(category: str) -> Any:
    return importlib.import_module(NAMESPACE_MODULES[category])


def _lookup(category: str, name: str) -> Any:
    """The client class or function for a catalog name (aliases resolved), or None."""
    catalog = load_catalog()
    canonical = catalog.canonical(category, name)
    if canonical is None:
        if catalog.forbidden_reason(category, name):
            raise ForbiddenObjectError(forbidden_message(catalog, category, name))
        return None
    _namespace(category)
    if catalog.is_function(category, canonical):
        return _FUNCTIONS.get((category, canonical))
    return _REGISTRY.get((category, canonical))


def _not_found(category: str, identifier: Any) -> ValueError:
    kind = _IDENTIFIER_KIND.get(category, KIND[category].lower())
    message = f"Could not interpret {kind} identifier: {identifier}"
    if isinstance(identifier, str):
        hint = suggest(identifier, load_catalog().names(category))
        if hint:
            message += f". Did you mean `{hint}`?"
    return ValueError(message)


def missing_attribute(module: str, category: str, name: str) -> AttributeError:
    """The AttributeError for a name a namespace lacks, with a did-you-mean.

    Namespace modules call it from a module-level ``__getattr__`` (which also tells
    type checkers that their generated names exist).
    """
    if name.startswith("__"):
        return AttributeError(f"module '{module}' has no attribute '{name}'")
    hint = suggest(name, load_catalog().names(category))
    message = f"module '{module}' has no attribute '{name}'"
    reason = load_catalog().client_side(category).get(name)
    if reason:
        message += f" ({reason})"
    elif hint:
        message += f". Did you mean `{hint}`?"
    return AttributeError(message)


def serialize(obj: Any) -> Any:
    """Serialize a Keras mirror like ``keras.saving.serialize_keras_object``.

    Objects become ``{"module", "class_name", "config", "registered_name"}``;
    functions become their name; strings, numbers and None pass through; lists,
    tuples and dicts are serialized item by item.
    """
    if isinstance(obj, KerasObject | KerasFunction):
        return obj._serialize()
    if isinstance(obj, list | tuple):
        return [serialize(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize(v) for k, v in obj.items()}
    return _config_value(_to_value(obj, "serialize()"))


def deserialize(config: Any, category: str) -> Any:
    """Rebuild a client object from Keras JSON (the inverse of `serialize`).

    Args:
        config: A serialized object dict, a function dict, or a name string.
        category: Where to look the name up (``"layers"``, ``"optimizers"``, ...).

    Returns:
        A `KerasObject` or `KerasFunction` (None for None).

    Raises:
        ValueError: for a name that is not in the catalog (with a suggestion).
        ForbiddenObjectError: for a name horn never runs.
    """
    if config is None:
        return None
    if isinstance(config, str):
        return get(config, category)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Could not deserialize {KIND[category].lower()}: expected a dict with "
            f"`class_name` and `config`. Received: {config!r:.200}"
        )
    class_name = config["class_name"]
    if class_name == "function":
        found = _lookup(category, str(config.get("config")))
        if not isinstance(found, KerasFunction):
            raise _not_found(category, config.get("config"))
        return found
    module = config.get("module")
    actual = load_catalog().category_of(module, class_name) if module else None
    category = actual or category
    cls = _lookup(category, class_name)
    if not (isinstance(cls, type) and issubclass(cls, KerasObject)):
        raise _not_found(category, class_name)
    inner = config.get("config") or {}
    return cls.from_config(dict(inner))


def get(identifier: Any, category: str) -> Any:
    """Resolve an identifier like ``keras.<category>.get`` does.

    Args:
        identifier: None, a name (``"adam"``, ``"relu"``, ``"glorot_uniform"``), a
            serialized dict, a client object or function, or a client class.
        category: The catalog category to resolve in.

    Returns:
        A client object (classes named by string are instantiated with defaults), a
        `KerasFunction`, or None.

    Raises:
        ValueError: ``Could not interpret ... identifier`` with a suggestion.
    """
    if identifier is None:
        return None
    if isinstance(identifier, KerasObject | KerasFunction):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, KerasObject):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier, category)
    if isinstance(identifier, str):
        found = _lookup(category, identifier)
        if found is None:
            raise _not_found(category, identifier)
        return found() if isinstance(found, type) else found
    raise _not_found(category, identifier)
