"""The catalog behind the generated classes of ``horn.keras``, and finding them by name.

The namespace modules (``horn.keras.layers``, ...) are static files written by
``horn._mirror.codegen``. Each class there is decorated with `mirror`, which reads
its Keras arguments from the catalog (binding rules, defaults, ``__signature__``);
names horn never runs are decorated with `forbidden`; built-in functions are made by
`function`. `lookup` finds any of them by catalog name.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from horn._mirror.objects import NAMESPACE_MODULES, KerasFunction, KerasObject, ReprDefault
from horn.schemas.catalog import forbidden_message, load_catalog

_K = TypeVar("_K", bound=KerasObject)
_T = TypeVar("_T", bound=type)

_REGISTRY: dict[tuple[str, str], type[KerasObject]] = {}
_FUNCTIONS: dict[tuple[str, str], KerasFunction] = {}


class ForbiddenObjectError(ValueError):
    """A Keras object horn never runs (it runs arbitrary code or reads files/URLs)."""


def parameters(category: str, entry: dict[str, Any]) -> dict[str, inspect.Parameter]:
    """The Keras constructor parameters of a catalog class entry, in Keras's order.

    Keyword arguments the Keras class takes through ``**kwargs`` (its base's, and
    those it reads itself) are added as keyword-only parameters.

    Args:
        category: The catalog category (``"layers"`` turns list defaults into tuples).
        entry: The class's catalog entry.

    Returns:
        Parameter name -> `inspect.Parameter`; defaults that are not plain data are
        `ReprDefault` placeholders.
    """
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
            default = ReprDefault(spec["default_repr"])
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


def signature(params: dict[str, inspect.Parameter]) -> inspect.Signature:
    """The constructor signature: positional-or-keyword parameters, then keyword-only."""
    ordered = sorted(
        params.values(),
        key=lambda p: p.kind is inspect.Parameter.KEYWORD_ONLY,
    )
    return inspect.Signature(ordered)


def mirror(category: str) -> Callable[[type[_K]], type[_K]]:
    """Class decorator: bind a generated class to its catalog entry (same class name).

    Sets what `KerasObject` binds and serializes with (``_entry``, ``_params``,
    ``_declared``, ``_remote`` for callbacks) and ``__signature__``, and registers
    the class for `lookup`.

    Args:
        category: The catalog category, e.g. ``"layers"``.

    Raises:
        KeyError: when the catalog has no such class (the module is stale).
    """

    def decorate(cls: type[_K]) -> type[_K]:
        entry = load_catalog().entry(category, cls.__name__)
        if entry is None or entry.get("class_name") != cls.__name__:
            raise KeyError(
                f"`{cls.__name__}` is not a {category} class of the catalog; the generated "
                "modules are stale: run `make catalog`"
            )
        params = parameters(category, entry)
        cls._category = category
        cls._entry = entry
        cls._params = params
        cls._declared = tuple(p["name"] for p in entry["params"])
        cls.__signature__ = signature(params)  # type: ignore[attr-defined]
        if category == "callbacks":
            cls._remote = bool(entry.get("remote"))
        _REGISTRY[(category, cls.__name__)] = cls
        return cls

    return decorate


def forbidden(category: str) -> Callable[[_T], _T]:
    """Class decorator: a name horn never runs; constructing it raises with the reason.

    Args:
        category: The catalog category whose ``forbidden`` table gives the reason.
    """

    def decorate(cls: _T) -> _T:
        message = forbidden_message(load_catalog(), category, cls.__name__)

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            raise ForbiddenObjectError(message)

        cls.__init__ = __init__  # type: ignore[misc]
        cls._forbidden = message  # type: ignore[attr-defined]
        return cls

    return decorate


def function(category: str, name: str) -> KerasFunction:
    """The built-in Keras function ``name`` of ``category``, registered for `lookup`."""
    fn = KerasFunction(category, name)
    _FUNCTIONS[(category, name)] = fn
    return fn


def lookup(category: str, name: str) -> Any:
    """The client class or function for a catalog name (aliases resolved), or None.

    Raises:
        ForbiddenObjectError: for a name horn never runs.
    """
    catalog = load_catalog()
    canonical = catalog.canonical(category, name)
    if canonical is None:
        if catalog.forbidden_reason(category, name):
            raise ForbiddenObjectError(forbidden_message(catalog, category, name))
        return None
    importlib.import_module(NAMESPACE_MODULES[category])  # defines and registers them
    if catalog.is_function(category, canonical):
        return _FUNCTIONS.get((category, canonical))
    return _REGISTRY.get((category, canonical))
