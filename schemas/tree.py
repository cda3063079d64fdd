"""Nested structures as Keras passes them around (an array, or dicts, lists and tuples of
them), walked without Keras: the SDK and the worker both use these, and neither imports
the other."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


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
    if isinstance(structure, Mapping):
        return {key: map_leaves(function, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [map_leaves(function, value) for value in structure]
    return function(structure)
