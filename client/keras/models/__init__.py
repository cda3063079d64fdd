"""Keras's `keras.models`: the model classes, and loading saved work.

The implementation is split as Keras splits `keras/src/models/`: `model.py` (the
`Model` class: graph, config, `compile`, `summary`), `sequential.py`, `functional.py`
(`keras.Input` and the functional config), `node.py` (layer calls on symbolic tensors),
`training.py` (`fit`/`evaluate`/`predict` as jobs) and `follow.py` (their events),
`batches.py` (`train_on_batch` and friends, through a session), `saving.py` (files,
weights, `load_model`, `model_from_json`).
"""

from horn.keras.models.model import Model
from horn.keras.models.saving import load_model, model_from_json
from horn.keras.models.sequential import Sequential

__all__ = ["Model", "Sequential", "load_model", "model_from_json"]
