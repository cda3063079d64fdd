"""Write the static ``horn.keras`` namespace modules from the Keras catalog.

Like Keras's ``api_gen.py`` writes ``keras/api``, this writes one module per catalog
category (``horn.keras.layers``, ``horn.keras.losses``, ...): a real ``class`` statement
per Keras class, with its docstring and an ``__init__`` signature for type checkers,
one `KerasFunction` per built-in function, the aliases, refusing stubs for the names
horn never runs, Keras's module-level ``serialize``/``deserialize``/``get``, and a
did-you-mean ``__getattr__``. It reads only the catalog, never Keras, so the unit
tests can check that the committed files are current.

Usage::

    python -m horn._mirror.codegen            # rewrite client/keras/** (make catalog)
    python -m horn._mirror.codegen --check    # exit 1 when a file is stale
"""

from __future__ import annotations

import argparse
import inspect
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from horn._mirror.classes import parameters, signature
from horn._mirror.namespace import function_doc, public_functions
from horn._mirror.objects import NAMESPACE_MODULES, ReprDefault
from horn.schemas.catalog import Catalog, forbidden_message, load_catalog

#: Where the generated modules go in the source tree (``horn.keras``).
KERAS_DIR = Path(__file__).resolve().parent.parent / "keras"

_SAME = (
    "Same names, arguments and defaults as the installed Keras; the computation runs on\n"
    "the horn worker."
)


@dataclass(frozen=True)
class Namespace:
    """How one catalog category becomes a module.

    Attributes:
        category: The catalog category.
        path: The module's file, relative to ``horn.keras``'s folder.
        doc: The module docstring.
        base: The category base class (from ``horn._mirror.bases``), or None.
        export_base: Whether the base is a public name of the module.
        local: Hand-written names the module re-exports: ``(module, names)`` pairs.
        public: Further public names (hand-written ones, lazy ones) for ``__all__``.
        overrides: Class name -> the hand-written base it gets instead of ``base``.
        extra_bases: Bases every generated class also gets.
        lazy: Name -> module that ``__getattr__`` imports it from (to avoid a cycle).
    """

    category: str
    path: str
    doc: str
    base: str | None
    export_base: bool = True
    local: tuple[tuple[str, tuple[str, ...]], ...] = ()
    public: tuple[str, ...] = ()
    overrides: dict[str, str] = field(default_factory=dict)
    extra_bases: tuple[str, ...] = ()
    lazy: dict[str, str] = field(default_factory=dict)


_MERGING = ("add", "average", "concatenate", "dot", "maximum", "minimum", "multiply",
            "subtract")
_LOCAL_CALLBACKS = ("Callback", "CSVLogger", "History", "LambdaCallback", "ModelCheckpoint")


def _simple(category: str, base: str | None, file: str | None = None) -> Namespace:
    title = f"Keras {category} (``keras.{category}``), built from the horn catalog.\n\n"
    return Namespace(category, file or f"{category}.py", title + _SAME, base)


#: Every generated module, in catalog order.
NAMESPACES: tuple[Namespace, ...] = (
    Namespace(
        "layers", "layers/__init__.py",
        "Keras layers (``keras.layers``), built from the horn catalog.\n\n"
        "Every built-in Keras layer is here with the arguments of the installed Keras; the\n"
        "layer runs on the horn worker. ``Lambda``, ``TFSMLayer``, ``TorchModuleWrapper``,\n"
        "``JaxLayer`` and ``FlaxLayer`` exist but refuse construction: they would run\n"
        "client code on the server.\n\n"
        "Example:\n"
        "    >>> from horn.keras import layers\n"
        '    >>> layers.Dense(64, activation="relu").units\n'
        "    64",
        "Layer",
        local=(("horn.keras.layers._input_layer", ("InputLayerBase",)),
               ("horn.keras.layers._merging", _MERGING)),
        public=("Input", *_MERGING),
        overrides={"InputLayer": "InputLayerBase"},
        lazy={"Input": "horn.keras.models.functional"},
    ),
    Namespace(
        "optimizers", "optimizers/__init__.py",
        "Keras optimizers (``keras.optimizers``), built from the horn catalog.\n\n"
        "Same names, arguments and defaults as the installed Keras; the optimizer runs on the\n"
        "horn worker. Learning-rate schedules are in `horn.keras.optimizers.schedules`.\n\n"
        "Example:\n"
        "    >>> from horn.keras import optimizers\n"
        "    >>> optimizers.SGD(learning_rate=0.01, momentum=0.9).momentum\n"
        "    0.9",
        "Optimizer",
        local=(("horn.keras.optimizers", ("schedules",)),),
        public=("schedules",),
    ),
    Namespace(
        "schedules", "optimizers/schedules.py",
        "Learning-rate schedules (``keras.optimizers.schedules``), built from the horn "
        "catalog.\n\n"
        "Pass one as an optimizer's ``learning_rate``; it runs on the horn worker.\n\n"
        "Example:\n"
        "    >>> from horn.keras.optimizers import schedules\n"
        "    >>> schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9).decay_rate\n"
        "    0.9",
        "LearningRateSchedule",
    ),
    _simple("losses", "Loss"),
    _simple("metrics", "Metric"),
    _simple("activations", None),
    _simple("initializers", "Initializer"),
    _simple("regularizers", "Regularizer"),
    _simple("constraints", "Constraint"),
    Namespace(
        "callbacks", "callbacks/__init__.py",
        "Keras callbacks (``keras.callbacks``) for horn.\n\n"
        "Two kinds, as the design asks:\n\n"
        "* `Callback` is a LOCAL base class mirroring ``keras.callbacks.Callback``. "
        "Subclass it;\n"
        "  your hooks run in your own process, called by ``fit``/``evaluate``/``predict`` "
        "from\n"
        "  the worker's events (``on_epoch_end(epoch, logs)`` and friends).\n"
        "* The built-in callbacks whose arguments are plain values (``EarlyStopping``,\n"
        "  ``ReduceLROnPlateau``, ``TerminateOnNaN``, ...) are catalog objects that also\n"
        "  subclass `Callback` and have ``_remote = True``: they are sent by "
        "``_serialize()``\n"
        "  and run on the worker.\n\n"
        "``LambdaCallback`` and ``CSVLogger`` run locally. ``ModelCheckpoint`` runs on both\n"
        "sides: the worker decides when to save, as Keras does, and the file is written to "
        "your\n"
        "path by your process. Callbacks that write files on the worker, call URLs or take "
        "Python\n"
        "functions (``TensorBoard``, ``BackupAndRestore``, ``RemoteMonitor``,\n"
        "``LearningRateScheduler``) refuse construction with the reason and what to do "
        "instead.\n\n"
        "Example:\n"
        "    >>> from horn.keras import callbacks\n"
        "    >>> callbacks.EarlyStopping(patience=2)._remote\n"
        "    True",
        "RemoteCallback",
        export_base=False,
        local=(("horn.keras.callbacks._local", _LOCAL_CALLBACKS),),
        public=("Callback", "History"),
        extra_bases=("Callback",),
    ),
)


# --------------------------------------------------------------------------- text


def _escape(text: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _docstring(text: str, indent: str) -> list[str]:
    """A docstring block at ``indent``, its lines kept within 100 columns."""
    lines = [f'{indent}"""{_escape(text.splitlines()[0])}']
    for line in text.splitlines()[1:]:
        lines.append(f"{indent}{_escape(line)}" if line else "")
    lines.append(f'{indent}"""')
    return lines


def _wrap(text: str, width: int = 88, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=width, subsequent_indent=indent,
                         break_on_hyphens=False) or [""]


def class_doc(catalog: Catalog, category: str, name: str) -> str:
    """The docstring of a generated class: Keras's summary, then its arguments."""
    entry = catalog.entry(category, name) or {}
    params = parameters(category, entry)
    lines: list[str] = []
    if entry.get("summary"):
        lines += [*_wrap(entry["summary"]), ""]
    lines += [
        f"Keras `{entry['module']}.{entry['class_name']}`, run by the horn worker.",
        "",
        "Takes exactly the arguments of the Keras class; see the Keras documentation for",
        "what each one does.",
        "",
        "Args:",
    ]
    for p in params.values():
        if p.default is inspect.Parameter.empty:
            text = f"{p.name}: required."
        else:
            text = f"{p.name}: default {p.default!r}."
        lines += ["    " + line for line in _wrap(text, 84, "    ")]
    return "\n".join(lines)


def _init_stub(category: str, catalog: Catalog, name: str) -> list[str]:
    """The ``__init__`` type checkers see (run time binds through ``__signature__``)."""
    params = parameters(category, catalog.entry(category, name) or {})
    out = ["    if TYPE_CHECKING:", "", "        def __init__(", "            self,"]
    star = False
    for p in signature(params).parameters.values():
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            out.append("            *,")
            star = True
        if p.default is inspect.Parameter.empty:
            out.append(f"            {p.name}: Any,")
        elif isinstance(p.default, ReprDefault):
            out.append(f"            {p.name}: Any = ...,")
        else:
            # A list default is Keras's own, shown as it is (never mutated).
            mutable = "  # noqa: B006" if isinstance(p.default, list | dict) else ""
            out.append(f"            {p.name}: Any = {p.default!r},{mutable}")
    out.append("        ) -> None: ...")
    return out


def _module_function(ns: Namespace, name: str) -> list[str]:
    module = NAMESPACE_MODULES[ns.category]
    params = {"serialize": "obj", "deserialize": "config", "get": "identifier"}[name]
    call = (f"_namespace.serialize({params})" if name == "serialize"
            else f"_namespace.{name}({params}, {ns.category!r})")
    return [
        "",
        "",
        f"def {name}({params}: Any) -> Any:",
        *_docstring(function_doc(name, ns.category, module).rstrip("\n"), "    "),
        f"    return {call}",
    ]


def _getattr(ns: Namespace) -> list[str]:
    lines = ["", "", "def __getattr__(name: str) -> Any:"]
    if ns.lazy:
        names = ", ".join(f"`{n}`" for n in ns.lazy)
        lines += [f'    """{names} on first use; anything else is a misspelling."""']
        for lazy_name, module in ns.lazy.items():
            lines += [
                f"    if name == {lazy_name!r}:",
                f"        from {module} import {lazy_name}",
                "",
                f"        return {lazy_name}",
            ]
    else:
        lines += ['    """Every name is defined above; anything else is a misspelling."""']
    lines += [f"    raise _namespace.missing_attribute(__name__, {ns.category!r}, name)"]
    return lines


def render_module(ns: Namespace, catalog: Catalog) -> str:
    """The source of one generated namespace module.

    Args:
        ns: What to generate.
        catalog: The catalog to generate from.

    Returns:
        The module's text, deterministic for a given catalog.
    """
    category = ns.category
    local = {name for _, names in ns.local for name in names}
    classes = [n for n in catalog.class_names(category) if n not in local]
    functions = catalog.function_names(category)
    defined = {*classes, *functions, *local}
    aliases = {a: t for a, t in catalog.aliases(category).items()
               if a.isidentifier() and a not in defined and t in defined}
    forbidden = [n for n in catalog.forbidden(category) if n not in local]
    module_functions = public_functions(category)
    exported = {*catalog.class_names(category), *functions, *aliases,
                *catalog.forbidden(category), *module_functions, *ns.public}
    if ns.base and ns.export_base:
        exported.add(ns.base)

    used = {"mirror": bool(classes), "function": bool(functions), "forbidden": bool(forbidden)}
    decorators = sorted(name for name, needed in used.items() if needed)
    typing_names = "TYPE_CHECKING, Any" if classes else "Any"
    imports = ["from __future__ import annotations", "", f"from typing import {typing_names}",
               "", "from horn._mirror import namespace as _namespace"]
    if ns.base:
        alias = f" as {ns.base}" if ns.export_base else ""
        imports.append(f"from horn._mirror.bases import {ns.base}{alias}")
    if decorators:
        imports.append(f"from horn._mirror.classes import {', '.join(decorators)}")
    for module, names in ns.local:
        line = f"from {module} import {', '.join(names)}"
        if len(line) > 100:
            body = "".join(f"    {n},\n" for n in names)
            line = f"from {module} import (\n{body})"
        imports.append(line)

    out = [
        "# DO NOT EDIT. Generated by `make catalog` (python -m horn._mirror.codegen) from",
        f"# schemas/keras_catalog.json for Keras {catalog.keras_version}.",
        *_docstring(ns.doc, ""),
        "",
        *imports,
        "",
        "__all__ = [",
        *(f"    {name!r}," for name in sorted(exported)),
        "]",
    ]
    for name in classes:
        bases = ", ".join([ns.overrides.get(name, ns.base or "object"), *ns.extra_bases])
        out += ["", "", f"@mirror({category!r})", f"class {name}({bases}):",
                *_docstring(class_doc(catalog, category, name), "    "), "",
                *_init_stub(category, catalog, name)]
    if functions:
        out += ["", ""]
        out += [f"{name} = function({category!r}, {name!r})" for name in functions]
    if aliases:
        out += ["", "# Other names Keras gives the same objects."]
        out += [f"{alias} = {target}" for alias, target in sorted(aliases.items())]
    for name in forbidden:
        out += ["", "", f"@forbidden({category!r})", f"class {name}:",
                *_docstring("\n".join(_wrap(forbidden_message(catalog, category, name))),
                            "    ")]
    for name in module_functions:
        out += _module_function(ns, name)
    out += _getattr(ns)
    return "\n".join(out) + "\n"


def render_all(catalog: Catalog | None = None) -> dict[str, str]:
    """Every generated module: path relative to ``horn.keras``'s folder -> text."""
    catalog = catalog or load_catalog()
    return {ns.path: render_module(ns, catalog) for ns in NAMESPACES}


def write_all(root: Path = KERAS_DIR, catalog: Catalog | None = None) -> list[Path]:
    """Write every generated module under ``root``; returns the files written."""
    written = []
    for path, text in render_all(catalog).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def stale(root: Path = KERAS_DIR, catalog: Catalog | None = None) -> list[str]:
    """The generated modules under ``root`` that differ from what the catalog gives."""
    out = []
    for path, text in render_all(catalog).items():
        target = root / path
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m horn._mirror.codegen",
                                     description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    parser.add_argument("--output", type=Path, default=KERAS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale(args.output)
        if outdated:
            print(f"stale generated modules: {', '.join(outdated)}; run `make catalog`",
                  file=sys.stderr)
            return 1
        print(f"the {len(NAMESPACES)} generated horn.keras modules are current")
        return 0
    written = write_all(args.output)
    print(f"wrote {len(written)} modules under {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
