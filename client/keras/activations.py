"""Keras activations (``keras.activations``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from horn._namespace import install_namespace, missing_attribute

__all__ = install_namespace("activations", globals())


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "activations", name)
