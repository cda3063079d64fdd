"""Settings shared by the server, the worker and the CLI, read from `HORN_*` variables.

One class per concern (`StoreSettings`, `BrokerSettings`, `LimitSettings`), and one per
process kind on top of them (`ServerSettings`, `WorkerSettings`). A process builds its
settings once (`get_server_settings()` / `get_worker_settings()`) and passes them down;
building one reads the environment and makes no file or directory.
"""

from __future__ import annotations

import functools

from horn.settings.base import DEFAULT_DATA_DIR, HornSettings
from horn.settings.broker import BrokerSettings
from horn.settings.database import normalize_database_url
from horn.settings.limits import LimitSettings
from horn.settings.secret_key import is_placeholder_secret
from horn.settings.server import ServerSettings
from horn.settings.store import StoreSettings
from horn.settings.worker import WorkerSettings

__all__ = [
    "DEFAULT_DATA_DIR",
    "BrokerSettings",
    "HornSettings",
    "LimitSettings",
    "ServerSettings",
    "StoreSettings",
    "WorkerSettings",
    "get_server_settings",
    "get_worker_settings",
    "is_placeholder_secret",
    "normalize_database_url",
]


@functools.cache
def get_server_settings() -> ServerSettings:
    """This server process's settings (read from the environment once)."""
    return ServerSettings()


@functools.cache
def get_worker_settings() -> WorkerSettings:
    """This worker process's settings (read from the environment once)."""
    return WorkerSettings()
