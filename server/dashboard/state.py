"""What the dashboard keeps per app: the signing key, the templates, the Celery census."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from horn.server.dashboard.views import aware
from horn.server.dashboard.workers import CeleryCensus

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


@dataclass
class DashboardState:
    """Per-app dashboard state (in `app.state.dashboard`)."""

    secret: str
    templates: Jinja2Templates
    celery: CeleryCensus


def dashboard_state(request: Request) -> DashboardState:
    """The dashboard state of the request's app."""
    state: DashboardState = request.app.state.dashboard
    return state


def format_time(when: datetime | None) -> str:
    """`2025-01-31 12:00:05` (UTC), or an em dash."""
    when = aware(when)
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else "—"


def format_duration(seconds: float | None) -> str:
    """`3.2 s`, `4 m 05 s`, `2 h 03 m`, or an em dash."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def format_number(value: float | None) -> str:
    """Four significant digits, or an em dash."""
    return "—" if value is None else f"{value:.4g}"


def make_templates() -> Jinja2Templates:
    """The dashboard's Jinja2 templates (autoescaped), with its filters."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters.update(dt=format_time, dur=format_duration, num=format_number)
    return templates
