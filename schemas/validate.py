"""Check Keras JSON against horn's allow-list before Keras ever sees it.

Keras's own deserializer resolves ``module``/``class_name`` pairs to code; it is the
second fence, not the first. `validate_keras_config` walks a serialized object (a
``Sequential`` or functional model from ``to_json()``, a ``compile_config``, an
optimizer, ...) and refuses anything that is not a built-in the catalog allows.

Example:
    >>> validate_keras_config({"module": "keras.layers", "class_name": "Dense",
    ...                        "config": {"units": 3}, "registered_name": None})
"""

from __future__ import annotations

from typing import Any

from schemas.catalog import (
    CATEGORIES,
    DEFAULT_ADVICE,
    Catalog,
    forbidden_message,
    load_catalog,
    suggest,
)

#: Bounds on the size of what is walked.
MAX_DEPTH = 64
MAX_NODES = 100_000

#: Model containers and dtype policies Keras writes, as ``(module, class_name)``.
CONTAINERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("keras", "Sequential"),
        ("keras", "Model"),
        ("keras.src.models.functional", "Functional"),
        ("keras", "DTypePolicy"),
        ("keras", "FloatDTypePolicy"),
    }
)

#: Special ``class_name`` markers Keras writes for plain data.
DATA_MARKERS = frozenset(
    {"__keras_tensor__", "__numpy__", "__tensor__", "__ellipsis__", "__slice__"}
)

#: Categories whose functions may be referenced as ``{"class_name": "function", ...}``.
FUNCTION_CATEGORIES = ("activations", "losses", "metrics")

class SpecError(ValueError):
    """A model, compile or object spec that horn refuses; the message names the JSON path."""


class _Walker:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.pairs = catalog.allowed_pairs()
        self.nodes = 0

    def walk(self, node: Any, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise SpecError(f"The spec at {path} is too large: more than {MAX_NODES} values.")
        if depth > MAX_DEPTH:
            raise SpecError(
                f"The spec at {path} is nested too deeply: more than {MAX_DEPTH} levels."
            )
        if isinstance(node, dict):
            for key in node:
                if not isinstance(key, str):
                    raise SpecError(f"Keys must be strings; found {key!r} at {path}.")
            if "class_name" in node and self.check_object(node, path):
                return
            for key, value in node.items():
                self.walk(value, f"{path}.{key}", depth + 1)
        elif isinstance(node, list | tuple):
            for i, value in enumerate(node):
                self.walk(value, f"{path}[{i}]", depth + 1)
        elif not (node is None or isinstance(node, str | bool | int | float)):
            raise SpecError(
                f"Expected JSON data at {path}; received a {type(node).__name__}: {node!r:.80}"
            )

    def check_object(self, node: dict[str, Any], path: str) -> bool:
        """Check one serialized object; return True when its children need no walk."""
        class_name = node["class_name"]
        module = node.get("module")
        registered = node.get("registered_name")
        if not isinstance(class_name, str) or not (module is None or isinstance(module, str)):
            raise SpecError(f"`class_name` and `module` must be strings at {path}.")
        if class_name == "__lambda__":
            raise SpecError(
                f"A Python lambda (`__lambda__`) at {path} is not allowed on horn: it runs "
                f"arbitrary Python code. {DEFAULT_ADVICE}"
            )
        if class_name in DATA_MARKERS:
            return False
        if class_name == "function":
            self.check_function(node, path)
            return True
        self.check_forbidden(module, class_name, path)
        pair_ok = (module, class_name) in self.pairs or (module, class_name) in CONTAINERS
        if module is None:
            pair_ok = any(name == class_name for _, name in self.pairs)
        if not pair_ok:
            self.unknown(module, class_name, path)
        if registered is not None and registered != class_name:
            raise SpecError(
                f"`registered_name` {registered!r} at {path} names a custom object; horn runs "
                f"only built-in Keras objects. {DEFAULT_ADVICE}"
            )
        if module is not None:
            self.check_restricted(module, class_name, node.get("config"), path)
        return False

    def check_function(self, node: dict[str, Any], path: str) -> None:
        name = node.get("config")
        module = node.get("module")
        if not isinstance(name, str):
            raise SpecError(f"A function reference at {path} must name the function as a string.")
        if module == "builtins":
            categories: tuple[str, ...] = FUNCTION_CATEGORIES
        elif isinstance(module, str) and module.removeprefix("keras.") in FUNCTION_CATEGORIES:
            categories = (module.removeprefix("keras."),)
        else:
            raise SpecError(
                f"Function `{module}.{name}` at {path} is not allowed on horn: only built-in "
                f"Keras activations, losses and metrics may be referenced. {DEFAULT_ADVICE}"
            )
        if not any(name in self.catalog.function_names(c) for c in categories):
            candidates = [n for c in categories for n in self.catalog.function_names(c)]
            hint = suggest(name, candidates)
            raise SpecError(
                f"Unknown function `{name}` at {path}: it is not a built-in Keras "
                + "/".join(categories)
                + " function."
                + (f" Did you mean `{hint}`?" if hint else "")
            )
        registered = node.get("registered_name")
        if registered not in (None, "function", name):
            raise SpecError(
                f"`registered_name` {registered!r} at {path} names a custom function; horn "
                f"runs only built-in Keras functions. {DEFAULT_ADVICE}"
            )

    def categories_for(self, module: str | None) -> tuple[str, ...]:
        if module is None:
            return CATEGORIES
        suffix = module.removeprefix("keras.")
        if suffix == "optimizers.schedules":
            return ("schedules",)
        return (suffix,) if suffix in CATEGORIES else ()

    def check_forbidden(self, module: str | None, class_name: str, path: str) -> None:
        categories = self.categories_for(module) or CATEGORIES
        for category in categories:
            if self.catalog.forbidden_reason(category, class_name):
                message = forbidden_message(self.catalog, category, class_name)
                raise SpecError(f"{message} (at {path})")

    def unknown(self, module: str | None, class_name: str, path: str) -> None:
        categories = self.categories_for(module)
        if not categories:
            raise SpecError(
                f"`{module}.{class_name}` at {path} is not a Keras built-in that horn allows: "
                f"horn only runs built-in Keras layers, optimizers, losses, metrics and "
                f"the like. {DEFAULT_ADVICE}"
            )
        candidates = [n for c in categories for n in self.catalog.class_names(c)]
        hint = suggest(class_name, candidates)
        where = f"`{module}`" if module else "any Keras module"
        raise SpecError(
            f"Unknown class `{class_name}` in {where} at {path}."
            + (f" Did you mean `{hint}`?" if hint else "")
        )

    def check_restricted(self, module: str, class_name: str, config: Any, path: str) -> None:
        category = self.catalog.category_of(module, class_name)
        if category is None or not isinstance(config, dict):
            return
        entry = self.catalog.entry(category, class_name) or {}
        for param, reason in entry.get("restricted_params", {}).items():
            if isinstance(config.get(param), str):
                raise SpecError(
                    f"Argument `{param}` of {class_name} at {path}.config.{param} may not be "
                    f"a string: {reason}."
                )


def validate_keras_config(obj: Any, *, where: str = "model") -> None:
    """Refuse any Keras JSON that names something horn does not allow.

    Args:
        obj: Parsed Keras JSON: a model from ``to_json()``, a ``compile_config``, or
            any serialized Keras object, possibly nested in lists and dicts.
        where: The name of the root in error messages' JSON paths.

    Raises:
        SpecError: naming the JSON path, for a forbidden class (``Lambda``, ...), an
            unknown module or class (with a suggestion), a custom ``registered_name``,
            a ``__lambda__``, a file-path argument, or a spec too deep or too large.

    Example:
        >>> validate_keras_config({"module": "keras.layers", "class_name": "Lambda",
        ...                        "config": {}})
        Traceback (most recent call last):
        ...
        schemas.validate.SpecError: Layer `Lambda` is not allowed on horn: ...
    """
    _Walker(load_catalog()).walk(obj, where, 0)
