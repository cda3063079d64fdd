"""Read access to the Keras catalog (``schemas/keras_catalog.json``), without Keras.

The catalog is generated from the installed Keras by ``python -m horn.worker.catalog_gen``.
It lists, per category (``layers``, ``optimizers``, ``schedules``, ``losses``,
``metrics``, ``activations``, ``initializers``, ``regularizers``, ``constraints``,
``callbacks``), the built-in classes horn allows with their constructor arguments, the
built-in functions (activations, losses, metrics), name aliases, and the names that
must never run on a horn server together with the reason.

Example:
    >>> from horn.schemas.catalog import load_catalog
    >>> load_catalog().entry("layers", "Dense")["module"]
    'keras.layers'
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

#: Every category the catalog covers, in a stable order.
CATEGORIES: tuple[str, ...] = (
    "layers",
    "optimizers",
    "schedules",
    "losses",
    "metrics",
    "activations",
    "initializers",
    "regularizers",
    "constraints",
    "callbacks",
)

#: Keyword arguments a category's base class takes through ``**kwargs``.
_BASE_KWARGS_KEY = {
    "layers": "layer_base_kwargs",
    "optimizers": "optimizer_base_kwargs",
    "losses": "loss_base_kwargs",
    "metrics": "metric_base_kwargs",
}


#: What one object of each category is called in messages.
KIND: dict[str, str] = {
    "layers": "Layer",
    "optimizers": "Optimizer",
    "schedules": "Learning rate schedule",
    "losses": "Loss",
    "metrics": "Metric",
    "activations": "Activation",
    "initializers": "Initializer",
    "regularizers": "Regularizer",
    "constraints": "Constraint",
    "callbacks": "Callback",
}

#: What to do instead of a forbidden object, per category.
ADVICE: dict[str, str] = {
    "layers": "Use a built-in layer; custom Python code never runs on horn.",
    "callbacks": "",
    "optimizers": "",
}
DEFAULT_ADVICE = "Use a built-in Keras object; custom Python code never runs on horn."


def forbidden_message(catalog: Catalog, category: str, name: str) -> str:
    """The user-facing message for a forbidden name, with the reason and the advice.

    Example:
        >>> forbidden_message(load_catalog(), "layers", "Lambda")[:40]
        'Layer `Lambda` is not allowed on horn: i'
    """
    reason = catalog.forbidden_reason(category, name) or "it is not a built-in Keras object"
    advice = ADVICE.get(category, DEFAULT_ADVICE)
    message = f"{KIND[category]} `{name}` is not allowed on horn: {reason}."
    return f"{message} {advice}" if advice else message


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to ``name`` (a likely misspelling), or None.

    Args:
        name: What the user wrote.
        candidates: The names that would have been accepted.

    Returns:
        The best match, or None when nothing is close.

    Example:
        >>> suggest("unit", ["units", "activation"])
        'units'
    """
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return lowered[name.lower()]
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    folded = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[folded[0]] if folded else None


class Catalog:
    """The allow-list of Keras classes and functions, with their arguments.

    Args:
        data: The parsed catalog JSON.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.keras_version: str = data["keras_version"]

    def _section(self, category: str) -> dict[str, Any]:
        if category not in CATEGORIES:
            raise KeyError(f"Unknown catalog category `{category}`. Expected one of {CATEGORIES}")
        section: dict[str, Any] = self.data[category]
        return section

    def canonical(self, category: str, name: str) -> str | None:
        """The canonical class or function name for ``name`` (resolving aliases), or None."""
        section = self._section(category)
        if name in section["classes"] or name in section["functions"]:
            return name
        target: str | None = section["aliases"].get(name)
        return target

    def entry(self, category: str, name: str) -> dict[str, Any] | None:
        """The catalog entry of an allowed class or function (aliases resolved), or None.

        A class entry has ``module``, ``class_name``, ``params`` (each ``name``, ``kind``
        and ``default`` or ``default_repr`` unless required) and optionally
        ``var_kwargs``; a function entry has ``module`` and ``name``.
        """
        canonical = self.canonical(category, name)
        if canonical is None:
            return None
        section = self._section(category)
        found: dict[str, Any] | None = section["classes"].get(canonical) or section[
            "functions"
        ].get(canonical)
        return found

    def is_function(self, category: str, name: str) -> bool:
        """Whether ``name`` is an allowed built-in function of ``category``."""
        canonical = self.canonical(category, name)
        return canonical is not None and canonical in self._section(category)["functions"]

    def class_names(self, category: str) -> list[str]:
        """Sorted canonical names of the allowed classes of ``category``."""
        return sorted(self._section(category)["classes"])

    def function_names(self, category: str) -> list[str]:
        """Sorted names of the allowed functions of ``category``."""
        return sorted(self._section(category)["functions"])

    def aliases(self, category: str) -> dict[str, str]:
        """Alias -> canonical name, for ``category``."""
        return dict(self._section(category)["aliases"])

    def names(self, category: str) -> list[str]:
        """Every allowed name of ``category``: classes, functions and aliases, sorted."""
        section = self._section(category)
        return sorted({*section["classes"], *section["functions"], *section["aliases"]})

    def forbidden(self, category: str) -> dict[str, str]:
        """Forbidden name -> reason, for ``category``."""
        return dict(self.data["forbidden"].get(category, {}))

    def forbidden_reason(self, category: str, name: str) -> str | None:
        """Why ``name`` may never run on horn, or None when it is not forbidden."""
        reason: str | None = self.data["forbidden"].get(category, {}).get(name)
        return reason

    def client_side(self, category: str) -> dict[str, str]:
        """Names the horn client implements itself (never sent), with the reason."""
        return dict(self.data.get("client_side", {}).get(category, {}))

    def base_kwargs(self, category: str) -> list[dict[str, Any]]:
        """Keyword arguments the category's base class accepts through ``**kwargs``."""
        key = _BASE_KWARGS_KEY.get(category)
        return list(self.data[key]) if key else []

    def allowed_pairs(self) -> set[tuple[str, str]]:
        """Every ``(module, class_name)`` Keras may write for an allowed class.

        Aliases are included (``("keras.layers", "Convolution2D")``), since Keras
        resolves them to the same built-in class.
        """
        return set(_allowed_pairs(self))

    def category_of(self, module: str, class_name: str) -> str | None:
        """The category of an allowed ``(module, class_name)``, or None."""
        return _pair_categories(self).get((module, class_name))


@functools.cache
def _pair_categories(catalog: Catalog) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for category in CATEGORIES:
        section = catalog.data[category]
        for name, entry in section["classes"].items():
            out[(entry["module"], name)] = category
        for alias, target in section["aliases"].items():
            if target in section["classes"]:
                out[(section["classes"][target]["module"], alias)] = category
    return out


@functools.cache
def _allowed_pairs(catalog: Catalog) -> frozenset[tuple[str, str]]:
    return frozenset(_pair_categories(catalog))


@functools.cache
def load_catalog() -> Catalog:
    """Load ``schemas/keras_catalog.json`` once per process.

    Returns:
        The shared `Catalog`.
    """
    catalog = resources.files("horn.schemas").joinpath("keras_catalog.json")
    text = catalog.read_text(encoding="utf-8")
    return Catalog(json.loads(text))
