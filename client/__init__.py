"""horn: Keras training as a service.

Change the imports of a Keras script and it runs on horn::

    from horn import keras             # was: import keras
    from horn.keras import layers      # was: from keras import layers

`horn.keras` holds Keras's own names only; horn's are here: `connect` (the server is
`HORN_URL`, default `http://127.0.0.1:8000`), `jobs` (handles on running and finished
jobs), `errors` (the exception tree) and `__version__`. The SDK imports neither
TensorFlow nor Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from horn import errors, jobs
from horn._http import Connection, connect, get_connection

if TYPE_CHECKING:
    from horn import keras

__version__ = "0.2.0"

__all__ = [
    "Connection",
    "__version__",
    "connect",
    "errors",
    "get_connection",
    "jobs",
    "keras",
]


def __getattr__(name: str) -> Any:
    """`horn.keras` is imported on first use: servers and workers never need it."""
    if name == "keras":
        import importlib

        return importlib.import_module("horn.keras")
    raise AttributeError(f"module 'horn' has no attribute {name!r}")
