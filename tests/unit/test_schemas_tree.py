"""Nested structures walked as the SDK and the worker both need them."""

from __future__ import annotations

from horn.schemas.tree import flatten, map_leaves, map_leaves_with_path


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


def test_map_leaves_with_path_names_each_leaf_by_its_keys_and_indices() -> None:
    structure = {"b": (1, [2, 3]), "a": {"x": 4}}
    seen: list[tuple[object, ...]] = []
    mapped = map_leaves_with_path(lambda path, leaf: seen.append(path) or (path, leaf),
                                  structure)
    assert seen == [("b", 0), ("b", 1, 0), ("b", 1, 1), ("a", "x")]  # flatten's order
    assert mapped == {"b": [(("b", 0), 1), [(("b", 1, 0), 2), (("b", 1, 1), 3)]],
                      "a": {"x": (("a", "x"), 4)}}
    assert map_leaves_with_path(lambda path, leaf: path, "blob-id") == ()
    # The prefix a caller gives (e.g. the name of the array) leads every path.
    assert map_leaves_with_path(lambda path, leaf: ".".join(map(str, path)), [[1], 2],
                                ("out",)) == [["out.0.0"], "out.1"]
