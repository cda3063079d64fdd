"""Routes that give their database connection back before the response is built.

FastAPI runs a plain `def` route in its thread pool, then validates the route's return
value in the thread pool again. A request's session would otherwise keep its pooled
connection across that second hop: under load every connection can end up held by
requests waiting for a thread while every thread waits for a connection, and requests
fail when the pool's timeout passes. `ReleasingRoute` closes the route's sessions in the
route's own thread, as soon as it returns (loaded rows stay readable: sessions keep
attributes after commit and close).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session


def releasing_sessions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` (a plain function), closing every `Session` it was given when it
    returns or raises."""

    @functools.wraps(endpoint)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            for value in (*args, *kwargs.values()):
                if isinstance(value, Session):
                    value.close()

    return call


class ReleasingRoute(APIRoute):
    """An `APIRoute` whose plain-function endpoint closes its sessions on return."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = releasing_sessions(endpoint)
        super().__init__(path, endpoint, **kwargs)
