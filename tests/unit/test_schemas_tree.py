"""Nested structures walked as the SDK and the worker both need them."""

from __future__ import annotations

from horn.schemas.tree import flatten, map_leaves


def test_map_leaves_visits_leaves_in_flatten_order() -> None:
    structure = {"b": (1, [2, 3]), "a": {"x": 4}, "c": 5}
    assert flatten(structure) == [1, 2, 3, 4, 5]  # a dict's own order, not sorted
    seen: list[int] = []
    mapped = map_leaves(lambda leaf: seen.append(leaf) or leaf * 10, structure)
    assert seen == flatten(structure)
    assert mapped == {"b": [10, [20, 30]], "a": {"x": 40}, "c": 50}  # tuples become lists
    assert flatten(mapped) == [10, 20, 30, 40, 50]


def test_a_single_leaf_is_its_own_structure() -> None:
    assert flatten("blob-id") == ["blob-id"]
    assert map_leaves(str.upper, "blob-id") == "BLOB-ID"
