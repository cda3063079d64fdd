"""Keras's namespace functions (``serialize``, ``deserialize``, ``get``), by category.

`serialize`, `deserialize` and `get` resolve names, dicts and objects of any catalog
category; the generated namespace modules (``horn.keras.layers``, ...) wrap them in the
module-level functions Keras has there (`public_functions`, documented by
`function_doc`), and `missing_attribute` is the did-you-mean error their
``__getattr__`` raises.

Example:
    >>> from horn.keras import losses
    >>> losses.get("mse") is losses.mean_squared_error
    True
"""

from __future__ import annotations

from typing import Any

from horn._mirror.classes import lookup
from horn._mirror.objects import IDENTIFIER_KIND, KerasFunction, KerasObject, config_value, to_value
from horn.schemas.catalog import KIND, load_catalog, suggest

#: Keras's module-level functions where a namespace lacks some: ``keras.layers`` and
#: ``keras.optimizers.schedules`` have no ``get``, ``keras.callbacks`` has none.
_PUBLIC_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "layers": ("deserialize", "serialize"),
    "schedules": ("deserialize", "serialize"),
    "callbacks": (),
}

#: Docstrings of the module-level functions, filled in per namespace by `function_doc`.
_DOCS = {
    "serialize": """Serialize {a_kind} like ``{keras}.serialize``.

Args:
    obj: {A_kind} from ``{module}``.

Returns:
    Keras's serialized form: ``{{"module", "class_name", "config", "registered_name"}}``
    for an object, the name for a function; names and plain values pass through.
""",
    "deserialize": """Deserialize {a_kind} like ``{keras}.deserialize``.

Args:
    config: What `serialize` returned (a dict or a name).

Returns:
    The client object or function; None for None.

Raises:
    ValueError: for a name horn does not know (with a suggestion).
    ForbiddenObjectError: for a name horn never runs.
""",
    "get": """Resolve {a_kind} identifier like ``{keras}.get``.

Args:
    identifier: None, a name, a serialized dict, an object or function from
        ``{module}``, or a class (instantiated with its defaults).

Returns:
    The client object or function; None for None.

Raises:
    ValueError: ``Could not interpret ... identifier``, with a suggestion.
""",
}


def _not_found(category: str, identifier: Any) -> ValueError:
    kind = IDENTIFIER_KIND.get(category, KIND[category].lower())
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
    return config_value(to_value(obj, "serialize()"))


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
        found = lookup(category, str(config.get("config")))
        if not isinstance(found, KerasFunction):
            raise _not_found(category, config.get("config"))
        return found
    module = config.get("module")
    actual = load_catalog().category_of(module, class_name) if module else None
    category = actual or category
    cls = lookup(category, class_name)
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
        found = lookup(category, identifier)
        if found is None:
            raise _not_found(category, identifier)
        return found() if isinstance(found, type) else found
    raise _not_found(category, identifier)


# --------------------------------------------------------------------------- modules


def public_functions(category: str) -> tuple[str, ...]:
    """The module-level functions Keras has in a namespace (``serialize``, ...)."""
    return _PUBLIC_FUNCTIONS.get(category, ("deserialize", "get", "serialize"))


def function_doc(name: str, category: str, module: str) -> str:
    """The docstring of a namespace's module-level ``serialize``/``deserialize``/``get``.

    Args:
        name: ``"serialize"``, ``"deserialize"`` or ``"get"``.
        category: The catalog category.
        module: The namespace module, e.g. ``"horn.keras.losses"``.
    """
    kind = KIND[category].lower()
    a_kind = ("an " if kind[0] in "aeiou" else "a ") + kind
    words = {"a_kind": a_kind, "A_kind": a_kind.capitalize(), "module": module,
             "keras": "keras." + module.removeprefix("horn.keras.")}
    return _DOCS[name].format(**words)
