"""Keras's naming rules: snake case and automatic unique names (``dense``, ``dense_1``...).

Example:
    >>> reset_names()
    >>> [auto_name("Dense") for _ in range(2)]
    ['dense', 'dense_1']
"""

from __future__ import annotations

import collections
import re


def to_snake_case(name: str) -> str:
    """Keras's snake-case rule (``keras.src.utils.naming.to_snake_case``).

    Example:
        >>> to_snake_case("Conv2DTranspose")
        'conv2d_transpose'
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_name_uids: collections.defaultdict[str, int] = collections.defaultdict(int)


def auto_name(prefix: str) -> str:
    """A unique name like Keras gives: ``dense``, then ``dense_1``, ``dense_2``...

    Args:
        prefix: A class name (``"Dense"``) or prefix; it is snake-cased first.

    Returns:
        The unique name; the counter is per prefix and process-global.
    """
    prefix = to_snake_case(prefix)
    count = _name_uids[prefix]
    _name_uids[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Restart automatic naming (like ``keras.backend.clear_session()`` does)."""
    _name_uids.clear()
