"""Nested structures as Keras passes them around (an array, or dicts, lists and tuples of
them), walked without Keras: the SDK, the server and the worker all walk a job's data, a
predict's outputs and the blob references that stand for them with these, and none
imports another."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Path = tuple[str | int, ...]
"""Where a leaf sits: the dict keys and list indices leading to it (`()` for the root)."""


def flatten(structure: Any) -> list[Any]:
    """The leaves of nested dicts, lists and tuples, in order (a dict's in its order)."""
    if isinstance(structure, Mapping):
        return [leaf for value in structure.values() for leaf in flatten(value)]
    if isinstance(structure, (list, tuple)):
        return [leaf for value in structure for leaf in flatten(value)]
    return [structure]


def map_leaves(function: Callable[[Any], Any], structure: Any) -> Any:
    """`structure` with `function` applied to each leaf, in `flatten`'s order; dicts
    stay dicts, lists and tuples become lists (as JSON has them)."""
    return map_leaves_with_path(lambda _path, leaf: function(leaf), structure)


def map_leaves_with_path(function: Callable[[Path, Any], Any], structure: Any,
                         path: Path = ()) -> Any:
    """`map_leaves` where `function` also receives each leaf's path.

    Args:
        function: called as `function(path, leaf)`, in `flatten`'s order.
        structure: nested dicts, lists and tuples.
        path: the path of `structure` itself (a prefix for every leaf's).

    Returns:
        `structure` with each leaf replaced by what `function` returned; dicts stay
        dicts, lists and tuples become lists.

    Example:
        >>> map_leaves_with_path(lambda p, _: ".".join(map(str, p)), {"a": [1, 2]})
        {'a': ['a.0', 'a.1']}
    """
    if isinstance(structure, Mapping):
        return {key: map_leaves_with_path(function, value, (*path, key))
                for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [map_leaves_with_path(function, value, (*path, index))
                for index, value in enumerate(structure)]
    return function(path, structure)
