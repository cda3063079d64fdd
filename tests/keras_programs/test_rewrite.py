"""The import rewriting that turns a Keras script into a horn script (no stack needed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.keras_programs.rewrite import to_horn

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.py"))


@pytest.mark.parametrize(("keras_line", "horn_line"), [
    ("import keras", "from horn import keras"),
    ("import keras as K", "from horn import keras as K"),
    ("import keras.layers", "from horn import keras"),
    ("import keras.layers as kl", "import horn.keras.layers as kl"),
    ("import numpy as np, keras", "import numpy as np; from horn import keras"),
    ("from keras import layers", "from horn.keras import layers"),
    ("from keras import layers, ops as K", "from horn.keras import layers, ops as K"),
    ("from keras.layers import Dense", "from horn.keras.layers import Dense"),
    ("from keras.callbacks import EarlyStopping, ModelCheckpoint",
     "from horn.keras.callbacks import EarlyStopping, ModelCheckpoint"),
    ("from  keras.optimizers.schedules  import ExponentialDecay",
     "from  horn.keras.optimizers.schedules  import ExponentialDecay"),
    ("from keras import *", "from horn.keras import *"),
])
def test_one_import_line(keras_line: str, horn_line: str) -> None:
    assert to_horn(keras_line + "\n") == horn_line + "\n"


@pytest.mark.parametrize("line", [
    "import kerastuner",
    "from keras_cv import layers",
    "from .keras import layers",
    "from . import keras",
    "import numpy as np",
    "x = keras.layers.Dense(3)",
    "print('import keras')",
    "# from keras import layers",
    "s = '''\nimport keras\n'''",
])
def test_everything_else_is_left_alone(line: str) -> None:
    assert to_horn(line + "\n") == line + "\n"


def test_multiline_and_nested_imports_keep_the_rest_and_the_line_numbers() -> None:
    source = (
        "import json\n"
        "from keras.layers import (\n"
        "    Dense,  # from keras import nothing\n"
        "    Dropout,\n"
        ")\n"
        "import \\\n"
        "    keras\n"
        "\n"
        "def build():\n"
        "    from keras import models\n"
        "    return models.Sequential([Dense(2)])  # keras.Sequential\n"
        "x = 'café'; import keras as k\n"
    )
    expected = (
        "import json\n"
        "from horn.keras.layers import (\n"
        "    Dense,  # from keras import nothing\n"
        "    Dropout,\n"
        ")\n"
        "from horn import keras\\\n"
        "\n"
        "\n"
        "def build():\n"
        "    from horn.keras import models\n"
        "    return models.Sequential([Dense(2)])  # keras.Sequential\n"
        "x = 'café'; from horn import keras as k\n"
    )
    rewritten = to_horn(source)
    assert rewritten == expected
    compile(rewritten, "<rewritten>", "exec")


def test_no_keras_import_no_change() -> None:
    source = "import numpy as np\n\nprint(np.zeros(3))\n"
    assert to_horn(source) == source


def test_invalid_python_is_refused() -> None:
    with pytest.raises(SyntaxError):
        to_horn("import keras\ndef broken(:\n")


def _import_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            assert node.end_lineno is not None
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda path: path.stem)
def test_programs_change_only_their_import_lines(program: Path) -> None:
    source = program.read_text()
    rewritten = to_horn(source)
    tree = ast.parse(rewritten)
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module or "" for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom)}
    assert not {m for m in modules if m == "keras" or m.startswith("keras.")}
    assert any(m == "horn" or m.startswith("horn.") for m in modules)
    before, after = source.splitlines(), rewritten.splitlines()
    assert len(before) == len(after)
    changed = {number for number, (old, new) in enumerate(zip(before, after, strict=True),
                                                          start=1) if old != new}
    assert changed
    assert changed <= _import_lines(ast.parse(source))
