"""Generating the client classes from the Keras catalog, and finding them by name.

`build_namespace` creates, in a namespace module, one class per Keras class of a
catalog category (its arguments, defaults and docstring from the catalog), one
`KerasFunction` per built-in function, the aliases, and refusing stubs for the names
horn never runs; `lookup` finds what it made by catalog name.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import MutableMapping
from typing import Any

from horn._bases import BASES
from horn._mirrors import NAMESPACE_MODULES, KerasFunction, KerasObject, ReprDefault
from horn.schemas.catalog import forbidden_message, load_catalog

_REGISTRY: dict[tuple[str, str], type[KerasObject]] = {}
_FUNCTIONS: dict[tuple[str, str], KerasFunction] = {}


class ForbiddenObjectError(ValueError):
    """A Keras object horn never runs (it runs arbitrary code or reads files/URLs)."""


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


def _signature(params: dict[str, inspect.Parameter]) -> inspect.Signature:
    ordered = sorted(
        params.values(),
        key=lambda p: p.kind is inspect.Parameter.KEYWORD_ONLY,
    )
    return inspect.Signature(ordered)


def _docstring(entry: dict[str, Any], params: dict[str, inspect.Parameter]) -> str:
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


def _forbidden_class(category: str, name: str, module_name: str) -> type:
    message = forbidden_message(load_catalog(), category, name)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise ForbiddenObjectError(message)

    attrs = {"__init__": __init__, "__doc__": message, "_forbidden": message,
             "__module__": module_name}
    return type(name, (), attrs)


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
            "__doc__": _docstring(entry, params),
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
            namespace_globals[name] = _forbidden_class(category, name, module_name)
        names.append(name)
    return sorted(set(names))


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
    importlib.import_module(NAMESPACE_MODULES[category])  # generates the classes
    if catalog.is_function(category, canonical):
        return _FUNCTIONS.get((category, canonical))
    return _REGISTRY.get((category, canonical))
