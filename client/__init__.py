"""horn's SDK: the Keras 3 API, with the training done on a horn server.

Change the imports of a Keras script and it runs on horn::

    import client as keras          # was: import keras
    from client import layers       # was: from keras import layers

The SDK imports neither TensorFlow nor Keras. The server is `HORN_URL`
(default `http://127.0.0.1:8000`), or whatever `client.connect(url)` names.
"""

from client import (
    activations,
    callbacks,
    constraints,
    errors,
    initializers,
    jobs,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    utils,
)
from client._history import History
from client._http import Connection, connect, get_connection
from client.models import Input, Model, Sequential

__version__ = "0.2.0"

__all__ = [
    "Connection",
    "History",
    "Input",
    "Model",
    "Sequential",
    "activations",
    "callbacks",
    "connect",
    "constraints",
    "errors",
    "get_connection",
    "initializers",
    "jobs",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "utils",
]
