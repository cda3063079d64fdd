"""Keras metrics (``keras.metrics``), built from the horn catalog.

Same names, arguments and defaults as the installed Keras; the computation runs on
the horn worker.
"""

from __future__ import annotations

from typing import Any

from horn._bases import Metric as Metric
from horn._namespace import install_namespace, missing_attribute

__all__ = install_namespace("metrics", globals())


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "metrics", name)
