"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from horn.schemas.api import Health
from horn.server import __version__
from horn.server.api.deps import SessionDep
from horn.server.api.routing import ReleasingRoute

router = APIRouter(tags=["health"], route_class=ReleasingRoute)


@router.get("/healthz", response_model=Health)
def healthz(session: SessionDep) -> Health:
    """Answers `ok` when the server is up and its database answers."""
    session.execute(text("SELECT 1"))
    return Health(status="ok", database="ok", version=__version__)
