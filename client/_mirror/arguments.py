"""Binding constructor arguments like Python does, in Keras's and Python's words.

The generated classes declare their ``__init__`` for type checkers only; at run time
`bind_arguments` binds ``*args``/``**kwargs`` against the Keras parameters and raises the
``TypeError`` Python would, or `UnknownArgumentError` (with a did-you-mean) for a
keyword the Keras class does not take.
"""

from __future__ import annotations

import inspect
from typing import Any

from horn.schemas.catalog import suggest


class UnknownArgumentError(ValueError, TypeError):
    """An argument the Keras class does not take (a misspelling, usually)."""


def bind_arguments(
    name: str,
    params: dict[str, inspect.Parameter],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """Bind arguments like Python, with Keras's wording for unknown keywords.

    Args:
        name: The class name, used in messages (``Dense.__init__() ...``).
        params: The Keras parameters, positional-or-keyword ones first.
        args: The positional arguments passed.
        kwargs: The keyword arguments passed.

    Returns:
        Parameter name -> value, for the arguments passed (defaults are not filled in).

    Raises:
        UnknownArgumentError: for a keyword the class does not take.
        TypeError: for too many positionals, a duplicate or a missing required argument.
    """
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
            message = (f"Unrecognized keyword arguments passed to {name}: "
                       f"{ {key: value} }.")
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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _quoted_list(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
