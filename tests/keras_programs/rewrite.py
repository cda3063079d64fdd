"""Turn a Keras script into a horn script by rewriting its import lines, and nothing else.

horn's promise is that a Keras 3 script runs on horn after changing only its imports:

    import keras                  ->  from horn import keras
    import keras as K             ->  from horn import keras as K
    import keras.layers as kl     ->  import horn.keras.layers as kl
    from keras import layers      ->  from horn.keras import layers
    from keras.layers import Dense  ->  from horn.keras.layers import Dense

The statements are found with `ast`, so strings, comments and attribute accesses such
as `keras.layers.Dense` are never touched; every other character of the file is kept,
and so are its line numbers (tracebacks of both runs point at the same lines).
"""

from __future__ import annotations

import ast
import re

KERAS = "keras"
HORN = "horn.keras"

_FROM = re.compile(r"(from\s+)keras\b")


def _is_keras(module: str | None) -> bool:
    return module is not None and (module == KERAS or module.startswith(KERAS + "."))


def _horn_module(module: str) -> str:
    return HORN + module[len(KERAS):]


def _import_statement(node: ast.Import) -> str:
    """`import ...` with every Keras name bound to the same name on horn.

    `import keras` becomes `from horn import keras`; other modules of the same
    statement keep an `import` of their own, joined by `; ` so the line count is kept.
    """
    others: list[str] = []
    statements: list[str] = []
    for alias in node.names:
        if not _is_keras(alias.name):
            others.append(alias.name if alias.asname is None else
                          f"{alias.name} as {alias.asname}")
        elif alias.asname is not None and alias.name != KERAS:
            statements.append(f"import {_horn_module(alias.name)} as {alias.asname}")
        else:
            # `import keras` and `import keras.layers` both bind the name `keras`;
            # `horn.keras` imports all its submodules, so `keras.layers` is there too.
            statements.append(f"from horn import keras as {alias.asname}" if alias.asname
                              else "from horn import keras")
    if others:
        statements.insert(0, "import " + ", ".join(others))
    return "; ".join(statements)


def _replacement(node: ast.stmt, segment: str) -> str | None:
    """The new text of an import statement, or None when it imports nothing of Keras."""
    if isinstance(node, ast.ImportFrom):
        if node.level or not _is_keras(node.module):
            return None
        new, count = _FROM.subn(lambda match: match.group(1) + HORN, segment, count=1)
        if count != 1:
            raise ValueError(f"cannot rewrite import statement: {segment!r}")
        return new
    if isinstance(node, ast.Import) and any(_is_keras(a.name) for a in node.names):
        text = _import_statement(node)
        # A statement continued over several lines keeps its line count.
        return text + "\\\n" * segment.count("\n") if "\n" in segment else text
    return None


def to_horn(source: str) -> str:
    """Return `source` with its Keras imports turned into horn's, everything else as is.

    Args:
        source: the text of a Python script.

    Returns:
        The same text where only the import statements of `keras` were rewritten.

    Raises:
        SyntaxError: `source` is not valid Python.

    Example:
        >>> to_horn("import keras\\nfrom keras import layers\\nx = 'import keras'\\n")
        "from horn import keras\\nfrom horn.keras import layers\\nx = 'import keras'\\n"
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    # ast's column offsets count UTF-8 bytes.
    encoded = [line.encode("utf-8") for line in lines]
    offsets = [0]
    for line in encoded:
        offsets.append(offsets[-1] + len(line))
    data = b"".join(encoded)
    edits: list[tuple[int, int, bytes]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        assert node.end_lineno is not None and node.end_col_offset is not None
        start = offsets[node.lineno - 1] + node.col_offset
        end = offsets[node.end_lineno - 1] + node.end_col_offset
        replacement = _replacement(node, data[start:end].decode("utf-8"))
        if replacement is not None:
            edits.append((start, end, replacement.encode("utf-8")))
    for start, end, new in sorted(edits, reverse=True):
        data = data[:start] + new + data[end:]
    return data.decode("utf-8")
