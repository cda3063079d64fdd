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

import math
import re
from typing import Any

from horn.schemas.catalog import (
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

#: Largest integer a spec may hold (the JSON-safe range).
MAX_INT = 2**53

#: Keys whose list values are inline data (any string allowed, e.g. vocabulary words).
INLINE_DATA_KEYS = frozenset({"vocabulary"})

#: Model classes whose configs hold a graph of layers (`inbound_nodes`).
GRAPH_CLASSES = frozenset({"Functional", "Model"})

#: Markers allowed among the arguments of a functional node besides layer references.
NODE_DATA_MARKERS = frozenset({"__slice__", "__ellipsis__"})

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(//|[\\/])|^file:", re.IGNORECASE)


class SpecError(ValueError):
    """A model, compile or object spec that horn refuses; the message names the JSON path."""


def _path_like(value: str) -> bool:
    """Whether a string looks like a file path or a URL (which Keras would open)."""
    return bool(_URL.match(value) or "/" in value or "\\" in value or value.startswith("~")
                or re.match(r"^[A-Za-z]:$", value))


class _Walker:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.pairs = catalog.allowed_pairs()
        self.nodes = 0

    def walk(self, node: Any, path: str, depth: int, data: bool = False) -> None:
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
                inline = key in INLINE_DATA_KEYS and isinstance(value, list | tuple)
                self.walk(value, f"{path}.{key}", depth + 1, inline)
        elif isinstance(node, list | tuple):
            for i, value in enumerate(node):
                self.walk(value, f"{path}[{i}]", depth + 1, data)
        elif isinstance(node, str):
            if not data and _path_like(node):
                raise SpecError(
                    f"The string {node[:100]!r} at {path} looks like a file path or a URL; "
                    "horn never reads files or fetches URLs on the server. Pass data inline "
                    "(e.g. a vocabulary as a list of strings)."
                )
        elif isinstance(node, bool) or node is None:
            pass
        elif isinstance(node, int):
            if abs(node) > MAX_INT:
                raise SpecError(
                    f"Expected an integer between -2**53 and 2**53 at {path}. "
                    f"Received: {str(node)[:40]}"
                )
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise SpecError(f"Expected a finite number at {path}. Received: {node}")
        else:
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
        if isinstance(module, str) and (module.startswith("keras.src.ops")
                                        or class_name in ("TFOpLambda", "SlicingOpLambda")):
            raise SpecError(
                f"Operation `{class_name}` ({module}) at {path} is not allowed on horn: a "
                "functional model may only connect layers, not apply `keras.ops` functions "
                "or slice tensors directly. Use the equivalent layer (e.g. `layers.Add`, "
                "`layers.Multiply`, `layers.Reshape`)."
            )
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
        if class_name in GRAPH_CLASSES and isinstance(node.get("config"), dict):
            self.check_graph(node["config"], f"{path}.config")
        return False

    def check_graph(self, config: dict[str, Any], path: str) -> None:
        """A functional graph may only connect its own layers: every `inbound_nodes`
        argument is a reference to a layer of this model (or plain data), and the
        model's inputs and outputs name its layers."""
        layers = config.get("layers")
        if not isinstance(layers, list):
            return
        names: set[str] = set()
        for layer in layers:
            if isinstance(layer, dict):
                name = layer.get("name")
                if not isinstance(name, str) and isinstance(layer.get("config"), dict):
                    name = layer["config"].get("name")
                if isinstance(name, str):
                    names.add(name)
        for i, layer in enumerate(layers):
            if isinstance(layer, dict):
                nodes = layer.get("inbound_nodes", [])
                self.check_node_args(nodes, names, f"{path}.layers[{i}].inbound_nodes")
        for key in ("input_layers", "output_layers"):
            if key in config:
                self.check_history_refs(config[key], names, f"{path}.{key}")

    def check_node_args(self, node: Any, names: set[str], path: str) -> None:
        if isinstance(node, dict):
            class_name = node.get("class_name")
            if class_name == "__keras_tensor__":
                inner = node.get("config")
                history = inner.get("keras_history") if isinstance(inner, dict) else None
                self.check_history(history, names, f"{path}.config.keras_history")
                return
            if class_name is not None and class_name not in NODE_DATA_MARKERS:
                raise SpecError(
                    f"The argument at {path} of a functional node is a `{class_name}` "
                    "object; horn allows only references to the model's own layers "
                    "(`__keras_tensor__`) and plain data there."
                )
            for key, value in node.items():
                self.check_node_args(value, names, f"{path}.{key}")
        elif isinstance(node, list):
            if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int) \
                    and not isinstance(node[1], bool):  # Keras 2 style [name, node, tensor]
                self.check_history(node[:3], names, path)
                return
            for i, value in enumerate(node):
                self.check_node_args(value, names, f"{path}[{i}]")

    def check_history_refs(self, refs: Any, names: set[str], path: str) -> None:
        if isinstance(refs, list) and refs and isinstance(refs[0], str):
            self.check_history(refs, names, path)
        elif isinstance(refs, list):
            for i, ref in enumerate(refs):
                self.check_history_refs(ref, names, f"{path}[{i}]")
        elif isinstance(refs, dict):
            for key, ref in refs.items():
                self.check_history_refs(ref, names, f"{path}.{key}")

    @staticmethod
    def check_history(history: Any, names: set[str], path: str) -> None:
        ok = (isinstance(history, list) and len(history) == 3
              and isinstance(history[0], str)
              and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 100_000
                      for v in history[1:]))
        if not ok:
            raise SpecError(f"Expected a layer reference [layer_name, node_index, "
                            f"tensor_index] at {path}. Received: {str(history)[:100]}")
        if history[0] not in names:
            raise SpecError(f"The layer reference at {path} names `{history[0]}`, which is "
                            "not a layer of this model.")

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
