"""The job dashboard: live pages for jobs, metrics, workers and queues.

`install_dashboard(app)` adds the pages under `/dashboard`, their JSON under
`/v1/dashboard` and the page's own JavaScript and CSS under `/dashboard/static` (no CDN:
it works offline).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from horn.settings import ServerSettings


def install_dashboard(app: FastAPI, settings: ServerSettings) -> None:
    """Mount the dashboard on `app` (after `app.state.sender` is set).

    Raises:
        ValueError: `HORN_SECRET_KEY` is a placeholder outside development.
    """
    from horn.server.dashboard import api, pages
    from horn.server.dashboard.state import STATIC_DIR, DashboardState, make_templates
    from horn.server.dashboard.workers import CeleryCensus, census_enabled

    app.state.dashboard = DashboardState(
        secret=settings.resolved_secret_key(), templates=make_templates(),
        celery=CeleryCensus(app.state.sender, enabled=census_enabled(settings)))
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.include_router(api.router)
    app.include_router(pages.router)


__all__ = ["install_dashboard"]
