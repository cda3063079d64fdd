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

import importlib
from typing import TYPE_CHECKING, Any

from horn import errors

if TYPE_CHECKING:
    from horn import jobs, keras
    from horn._http import Connection, connect, get_connection

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

#: Names imported on first use: the server, the worker and the CLI import `horn.server`,
#: `horn.worker`, ... and so this package, but need none of the SDK's modules.
_LAZY = {"keras": ("horn.keras", None), "jobs": ("horn.jobs", None),
         "Connection": ("horn._http", "Connection"), "connect": ("horn._http", "connect"),
         "get_connection": ("horn._http", "get_connection")}


def __getattr__(name: str) -> Any:
    """Import `keras`, `jobs` and the connection functions when first used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'horn' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value
