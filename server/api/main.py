"""The `/v1` routes."""

from typing import Any

from fastapi import FastAPI

from horn.schemas.api import ErrorEnvelope
from horn.server.api.routes import accounts, blobs, jobs, models, sessions, weights

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Invalid argument (the message says what was expected and received)"),
        (401, "No valid API key (`WWW-Authenticate: Bearer`)"),
        (403, "Not allowed for this user"),
        (404, "No such resource, or not yours"),
        (409, "Conflict with the resource's state"),
        (413, "Upload over the configured limit"),
        (422, "Malformed request"),
        (429, "Too many requests or jobs; retry after `Retry-After` seconds"),
        (503, "The database or broker is unavailable; retry shortly"),
    )
}
"""Every `/v1` route may answer these, always in the error envelope."""

API_ROUTERS = (jobs.router, blobs.router, sessions.router, models.router, weights.router,
               accounts.router)
"""The `/v1` routers, in the order a request's route is looked for."""


def include_api(app: FastAPI) -> None:
    """Add the `/v1` routes to `app`, each router included directly.

    FastAPI tries routes in the order they were included (each included router's
    twice), so the routers are included in `app` itself, the ones every running job
    calls first: a job poll takes 8 route checks, not 39 through a router of routers.
    This order is also the OpenAPI document's."""
    for router in API_ROUTERS:
        app.include_router(router, prefix="/v1", responses=ERROR_RESPONSES)
