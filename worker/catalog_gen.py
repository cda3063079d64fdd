"""Generate ``schemas/keras_catalog.json`` from the installed Keras.

The catalog lists every built-in Keras class and function horn lets a user put in a
model spec, with the arguments each one takes, so that the SDK (which never imports
Keras) can check arguments locally and the server and worker can validate specs
against an allow-list.

Usage::

    python -m horn.worker.catalog_gen           # rewrite schemas/keras_catalog.json
    python -m horn.worker.catalog_gen --check   # exit 1 when the file is stale

``make catalog`` runs it, then ``python -m horn._mirror.codegen``, which writes the
static ``horn.keras`` modules from the new catalog.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

CATALOG_PATH = Path(__file__).resolve().parent.parent / "schemas" / "keras_catalog.json"

#: category -> (keras namespace, base class path, src module holding ALL_OBJECTS_DICT)
CATEGORIES: dict[str, tuple[str, str, str | None]] = {
    "layers": ("keras.layers", "keras.layers.Layer", None),
    "optimizers": ("keras.optimizers", "keras.optimizers.Optimizer", "keras.src.optimizers"),
    "schedules": (
        "keras.optimizers.schedules",
        "keras.optimizers.schedules.LearningRateSchedule",
        None,
    ),
    "losses": ("keras.losses", "keras.losses.Loss", "keras.src.losses"),
    "metrics": ("keras.metrics", "keras.metrics.Metric", "keras.src.metrics"),
    "activations": ("keras.activations", "", "keras.src.activations"),
    "initializers": (
        "keras.initializers",
        "keras.initializers.Initializer",
        "keras.src.initializers",
    ),
    "regularizers": (
        "keras.regularizers",
        "keras.regularizers.Regularizer",
        "keras.src.regularizers",
    ),
    "constraints": (
        "keras.constraints",
        "keras.constraints.Constraint",
        "keras.src.constraints",
    ),
    "callbacks": ("keras.callbacks", "keras.callbacks.Callback", None),
}

#: Categories whose public functions are catalogued (activation, loss, metric functions).
FUNCTION_CATEGORIES = ("activations", "losses", "metrics")

_ARBITRARY_CODE = "it runs arbitrary Python code"
_CALLBACK_LOCAL = (
    "{what}; horn never runs it on the worker. Subclass `keras.callbacks.Callback` "
    "(it runs in your own process) or use a built-in remote callback such as "
    "EarlyStopping or ReduceLROnPlateau"
)

#: Names that must never run on a horn server or worker, with the reason.
FORBIDDEN: dict[str, dict[str, str]] = {
    "layers": {
        "Lambda": _ARBITRARY_CODE,
        "TFSMLayer": "it loads a TensorFlow SavedModel from a file path or URL",
        "TorchModuleWrapper": "it wraps an arbitrary PyTorch module (Python code)",
        "JaxLayer": "it wraps arbitrary JAX Python functions",
        "FlaxLayer": "it wraps an arbitrary Flax module (Python code)",
    },
    "optimizers": {
        "MultiOptimizer": (
            "its `optimizer_map` holds Keras objects matched to variable paths, which the "
            "horn SDK does not mirror yet; use one optimizer for the whole model"
        ),
    },
    "callbacks": {
        "LambdaCallback": _CALLBACK_LOCAL.format(what=_ARBITRARY_CODE),
        "ModelCheckpoint": (
            "as a serialized Keras object it would write files to a path on the worker's "
            "machine. Pass `horn.keras.callbacks.ModelCheckpoint(filepath, ...)` to `fit()`: "
            "the worker decides when to save and your process writes the files to `filepath`"
        ),
        "BackupAndRestore": _CALLBACK_LOCAL.format(
            what="it writes files to a path on the worker's machine"
        ),
        "OrbaxCheckpoint": _CALLBACK_LOCAL.format(
            what="it writes files to a path on the machine it runs on"
        ),
        "TensorBoard": _CALLBACK_LOCAL.format(
            what="it writes log files to a path on the machine it runs on"
        ),
        "CSVLogger": _CALLBACK_LOCAL.format(what="it writes a file to a path"),
        "RemoteMonitor": _CALLBACK_LOCAL.format(what="it sends requests to a URL"),
        "LearningRateScheduler": (
            "it takes a Python function, and horn never runs client code on the worker. "
            "Pass a `keras.optimizers.schedules.LearningRateSchedule` (for example "
            "ExponentialDecay) as the optimizer's `learning_rate`, or use ReduceLROnPlateau"
        ),
    },
}

#: Callback classes the horn client implements itself; never sent to the worker.
CLIENT_SIDE: dict[str, dict[str, str]] = {
    "callbacks": {
        "CallbackList": "internal Keras container; horn's client manages callbacks itself",
        "History": "the horn client returns its own History from `fit()`",
        "ProgbarLogger": "the horn client renders the progress bar from worker events",
    },
}

#: Abstract base classes: exported for subclassing, useless (and never sent) as they are.
ABSTRACT: dict[str, frozenset[str]] = {"layers": frozenset({"Wrapper"})}

#: Arguments whose value may not be a string, because Keras reads a file at that path.
RESTRICTED_PARAMS: dict[str, dict[str, dict[str, str]]] = {
    "layers": {
        name: {
            "vocabulary": "pass the vocabulary as a list; horn never reads files on the "
            "server, and a string here is read as a file path"
        }
        for name in ("IntegerLookup", "StringLookup", "TextVectorization")
    },
}


def _import(path: str) -> Any:
    """Import ``a.b.C`` (module attribute) or ``a.b`` (module)."""
    import importlib

    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        module, _, attr = path.rpartition(".")
        return getattr(importlib.import_module(module), attr)


def _json_default(value: Any) -> tuple[bool, Any]:
    """Return ``(True, json_value)`` if ``value`` is plain JSON data, else ``(False, None)``."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return True, value
    if isinstance(value, float):
        return (True, value) if math.isfinite(value) else (False, None)
    if isinstance(value, list | tuple):
        items = [_json_default(v) for v in value]
        if all(ok for ok, _ in items):
            return True, [v for _, v in items]
        return False, None
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        pairs = {k: _json_default(v) for k, v in value.items()}
        if all(ok for ok, _ in pairs.values()):
            return True, {k: v for k, (_, v) in pairs.items()}
    return False, None


def _describe_param(param: inspect.Parameter) -> dict[str, Any]:
    kind = "keyword_only" if param.kind is param.KEYWORD_ONLY else "positional_or_keyword"
    out: dict[str, Any] = {"name": param.name, "kind": kind}
    if param.default is not inspect.Parameter.empty:
        ok, value = _json_default(param.default)
        if ok:
            out["default"] = value
        else:
            out["default_repr"] = repr(param.default)
    return out


_KWARGS_READ = re.compile(
    r"kwargs\.(?:pop|get)\(\s*[\"'](\w+)[\"']|[\"'](\w+)[\"']\s+in\s+kwargs"
)
_KWARGS_FORWARD = re.compile(r"__init__\((?:[^()]|\([^()]*\))*\*\*kwargs", re.S)


def _init_source(cls: Any) -> str:
    try:
        return inspect.getsource(cls.__init__)
    except (OSError, TypeError):
        return ""


def describe_signature(cls: Any) -> dict[str, Any]:
    """Describe ``cls.__init__``: its params, and what it does with ``**kwargs``."""
    out: dict[str, Any] = {"params": []}
    if cls.__init__ is object.__init__:
        return out
    sig = inspect.signature(cls.__init__)
    for i, param in enumerate(sig.parameters.values()):
        if i == 0:  # self
            continue
        if param.kind is param.VAR_KEYWORD:
            out["var_kwargs"] = True
            source = _init_source(cls)
            read = sorted({a or b for a, b in _KWARGS_READ.findall(source)})
            if read:
                out["kwargs_read"] = read
            out["kwargs_to_base"] = bool(_KWARGS_FORWARD.search(source))
        elif param.kind is param.VAR_POSITIONAL:
            out["var_args"] = True
        else:
            out["params"].append(_describe_param(param))
    return out


def _summary(obj: Any) -> str:
    """The first paragraph of an object's own docstring, on one line ("" when it has none)."""
    doc = obj.__doc__ if isinstance(obj.__doc__, str) else ""
    paragraph = inspect.cleandoc(doc).split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def _public_name(obj: Any) -> tuple[str, str] | None:
    """The ``(module, name)`` Keras writes for a built-in class or function."""
    from keras.src import api_export

    full = api_export.get_name_from_symbol(obj)
    if not full:
        return None
    module, _, name = full.rpartition(".")
    return module, name


def _layer_base_kwargs() -> list[dict[str, Any]]:
    import keras

    sig = inspect.signature(keras.layers.Layer.__init__)
    params = [
        _describe_param(p)
        for p in sig.parameters.values()
        if p.kind is p.KEYWORD_ONLY
    ]
    source = _init_source(keras.layers.Layer)
    popped = sorted({a or b for a, b in _KWARGS_READ.findall(source)})
    params += [{"name": n, "kind": "keyword_only", "default": None} for n in popped]
    return params


def _optimizer_base_kwargs() -> list[dict[str, Any]]:
    from keras.src.optimizers.base_optimizer import BaseOptimizer

    sig = inspect.signature(BaseOptimizer.__init__)
    return [
        {**_describe_param(p), "kind": "keyword_only"}
        for p in sig.parameters.values()
        if p.name not in ("self", "learning_rate")
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


def _base_kwargs_of(base: Any) -> list[dict[str, Any]]:
    if base.__init__ is object.__init__:
        return []
    sig = inspect.signature(base.__init__)
    return [
        {**_describe_param(p), "kind": "keyword_only"}
        for p in list(sig.parameters.values())[1:]
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


def _is_remote_safe(entry: dict[str, Any]) -> bool:
    if entry.get("var_args"):
        return False
    return all("default_repr" not in p for p in entry["params"])


def _build_category(category: str) -> dict[str, Any]:
    ns_path, base_path, src_path = CATEGORIES[category]
    namespace = _import(ns_path)
    base = _import(base_path) if base_path else None
    forbidden = FORBIDDEN.get(category, {})
    client_side = CLIENT_SIDE.get(category, {})
    classes: dict[str, dict[str, Any]] = {}
    functions: dict[str, dict[str, Any]] = {}
    aliases: dict[str, str] = {}
    canonical_of: dict[int, str] = {}

    public = sorted(n for n in dir(namespace) if not n.startswith("_"))
    for name in public:
        obj = getattr(namespace, name)
        if inspect.isclass(obj):
            if base is None or not issubclass(obj, base) or obj is base:
                continue
            written = _public_name(obj)
            module, canonical = written if written else (ns_path, name)
            skip = ABSTRACT.get(category, frozenset())
            if canonical in forbidden or canonical in client_side or canonical in skip:
                continue
            if canonical != name:
                aliases[name] = canonical
            canonical_of[id(obj)] = canonical
            if canonical in classes:
                continue
            entry = {"module": module, "class_name": canonical, **describe_signature(obj),
                     "summary": _summary(obj)}
            restricted = RESTRICTED_PARAMS.get(category, {}).get(canonical)
            if restricted:
                entry["restricted_params"] = restricted
            if category == "callbacks":
                entry["remote"] = _is_remote_safe(entry)
            classes[canonical] = entry
        elif category in FUNCTION_CATEGORIES and inspect.isfunction(obj):
            if name in ("get", "serialize", "deserialize"):
                continue
            written = _public_name(obj)
            module = written[0] if written else ns_path
            canonical_of[id(obj)] = name
            functions[name] = {"module": module, "name": name, "summary": _summary(obj)}

    if src_path:
        src = _import(src_path)
        for key, obj in getattr(src, "ALL_OBJECTS_DICT", {}).items():
            target = canonical_of.get(id(obj))
            if target and key != target and key not in public:
                aliases[key] = target

    # Canonical names exported only under an alias spelling (keep them reachable).
    for alias, canonical in list(aliases.items()):
        if canonical not in classes and canonical not in functions:
            del aliases[alias]
    return {"classes": classes, "functions": functions, "aliases": aliases}


def build_catalog() -> dict[str, Any]:
    """Build the catalog from the installed Keras, as plain JSON data.

    Returns:
        The catalog dict, exactly as ``json.load`` would read it from the file.

    Example:
        >>> build_catalog()["layers"]["classes"]["Dense"]["params"][0]["name"]
        'units'
    """
    import keras

    catalog: dict[str, Any] = {
        "keras_version": keras.__version__,
        "layer_base_kwargs": _layer_base_kwargs(),
        "optimizer_base_kwargs": _optimizer_base_kwargs(),
        "loss_base_kwargs": _base_kwargs_of(keras.losses.Loss),
        "metric_base_kwargs": _base_kwargs_of(keras.metrics.Metric),
        "forbidden": FORBIDDEN,
        "client_side": CLIENT_SIDE,
    }
    for category in CATEGORIES:
        catalog[category] = _build_category(category)
    # Normalise through JSON so tuples become lists, exactly as the file holds them.
    result: dict[str, Any] = json.loads(render(catalog))
    return result


def render(catalog: dict[str, Any]) -> str:
    """Serialize a catalog deterministically (sorted keys, indent=1, trailing newline)."""
    return json.dumps(catalog, sort_keys=True, indent=1, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m horn.worker.catalog_gen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=CATALOG_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    catalog = build_catalog()
    text = render(catalog)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"schemas/keras_catalog.json is stale for keras {catalog['keras_version']}; "
                "run `python -m horn.worker.catalog_gen`",
                file=sys.stderr,
            )
            return 1
        print(f"schemas/keras_catalog.json is current for keras {catalog['keras_version']}")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} for keras {catalog['keras_version']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
