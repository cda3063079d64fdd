"""The dashboard's JSON, under `/v1/dashboard`: what the pages poll to update live.

Authenticated by the dashboard's session cookie or by an `Authorization: Bearer` API
key, like the rest of `/v1`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from horn.schemas.api import ErrorEnvelope, JobStatus
from horn.server.api.deps import SessionDep, SettingsDep
from horn.server.api.routing import ReleasingRoute
from horn.server.core.exceptions import Unauthenticated
from horn.server.dashboard import service
from horn.server.dashboard.auth import Viewer, viewer_from_request
from horn.server.dashboard.schemas import DashboardJobDetail, DashboardJobs, DashboardSummary
from horn.server.dashboard.state import dashboard_state


def require_viewer(request: Request, session: SessionDep, settings: SettingsDep) -> Viewer:
    """The logged-in viewer, else a 401 error envelope."""
    viewer = viewer_from_request(request, session, settings, dashboard_state(request).secret)
    if viewer is None:
        raise Unauthenticated("Log in at /dashboard/login, or send `Authorization: Bearer "
                              "<API key>`.")
    return viewer


ViewerDep = Annotated[Viewer, Depends(require_viewer)]

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorEnvelope, "description": "Not logged in"},
    404: {"model": ErrorEnvelope, "description": "No such job or page"},
    422: {"model": ErrorEnvelope, "description": "Invalid parameters"},
}

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"], responses=_ERRORS,
                   route_class=ReleasingRoute)


@router.get("/summary", response_model=DashboardSummary)
def get_summary(request: Request, session: SessionDep, settings: SettingsDep,
                viewer: ViewerDep) -> DashboardSummary:
    """Jobs by status (yours; an admin's: everyone's), jobs that succeeded or failed in
    the last hour, broker queue depths, and online workers with their current jobs."""
    return service.summary(session, settings, viewer, dashboard_state(request).celery)


@router.get("/jobs", response_model=DashboardJobs)
def get_jobs(session: SessionDep, viewer: ViewerDep,
             status: JobStatus | None = None,
             owner: Annotated[str | None, Query(max_length=100,
                                                description="Admins only")] = None,
             page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
             per_page: Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)] = service.PER_PAGE,
             ) -> DashboardJobs:
    """A page of the jobs table, newest first, with progress and latest metrics."""
    return service.jobs_page(session, viewer, owner=owner or None,
                             status=status.value if status else None, page=page,
                             per_page=per_page)


@router.get("/jobs/{job_id}", response_model=DashboardJobDetail)
def get_job_detail(session: SessionDep, viewer: ViewerDep,
                   job_id: Annotated[str, Path(max_length=64)]) -> DashboardJobDetail:
    """One job with its metric charts, attempts, event log, layers and arguments."""
    return service.job_detail(session, viewer, job_id)
