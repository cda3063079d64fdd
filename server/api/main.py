"""The `/v1` router."""

from typing import Any

from fastapi import APIRouter

from schemas.api import ErrorEnvelope
from server.api.routes import accounts, blobs, jobs, models, sessions, weights

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

api_router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
api_router.include_router(accounts.router)
api_router.include_router(models.router)
api_router.include_router(weights.router)
api_router.include_router(blobs.router)
api_router.include_router(jobs.router)
api_router.include_router(sessions.router)
