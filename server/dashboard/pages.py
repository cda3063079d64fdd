"""The dashboard's HTML pages (Jinja2), its login, and its CSRF-checked cancel.

Pages render everything server-side; `static/dashboard.js` then polls `/v1/dashboard/...`
to update them without reloading.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import parse_qs, quote

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from horn.schemas.api import JobStatus
from horn.server.api.deps import SessionDep, SettingsDep
from horn.server.api.routing import ReleasingRoute
from horn.server.core.exceptions import APIError
from horn.server.dashboard import service
from horn.server.dashboard.auth import (
    Viewer,
    auth_enabled,
    clear_session_cookie,
    csrf_ok,
    login,
    new_session,
    set_session_cookie,
    viewer_from_request,
)
from horn.server.dashboard.state import dashboard_state
from horn.server.exporting import ExportFailed, export_keras
from horn.server.store import jobs as job_store
from horn.server.store.models import get_model, get_weights
from horn.server.store.tables import LOCAL_USER, JobRow

router = APIRouter(prefix="/dashboard", include_in_schema=False, route_class=ReleasingRoute)

MAX_FORM_BYTES = 8192
_NOTICES = {
    JobStatus.CANCELLED.value: "The job was cancelled.",
    "cancel_requested": "Cancellation requested: the job stops after the current batch.",
    "already_finished": "The job had already finished; there was nothing to cancel.",
}


class _Login(Exception):
    """Nobody is logged in: send the browser to the login form."""


def _page(request: Request, template: str, context: dict[str, Any], viewer: Viewer | None,
          status_code: int = 200) -> HTMLResponse:
    """Render a page; in auth-less mode, issue a session on the way (for its CSRF token)."""
    state = dashboard_state(request)
    issued = None
    if viewer is not None and viewer.csrf is None and viewer.name == LOCAL_USER:
        issued = new_session(LOCAL_USER)
        viewer = Viewer(viewer.name, viewer.is_admin, issued.csrf)
    response = state.templates.TemplateResponse(
        request, template, {"viewer": viewer, "auth": viewer is not None and viewer.csrf
                            is not None, **context}, status_code=status_code)
    if issued is not None:
        set_session_cookie(response, request, issued, state.secret)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'")
    return response


def _error(request: Request, viewer: Viewer | None, status_code: int, message: str
           ) -> HTMLResponse:
    return _page(request, "error.html", {"status_code": status_code, "message": message},
                 viewer, status_code)


def _viewer(request: Request, session: SessionDep, settings: SettingsDep) -> Viewer | None:
    return viewer_from_request(request, session, settings, dashboard_state(request).secret)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/login?next={quote(target, safe='')}", 303)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/dashboard") and "//" not in target \
            and "\\" not in target:
        return target
    return "/dashboard"


async def _form(request: Request) -> dict[str, str]:
    """A small `application/x-www-form-urlencoded` body, as a dict."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=20)
    return {key: values[0] for key, values in fields.items() if values}


@router.get("", response_class=HTMLResponse)
def jobs(request: Request, session: SessionDep, settings: SettingsDep,
         status: str | None = None, owner: str | None = None, page: str | None = None
         ) -> Response:
    """The jobs table."""
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    if status and status not in {s.value for s in JobStatus}:
        return _error(request, viewer, 400, f"Unknown status {status[:40]!r}: expected one "
                      f"of {', '.join(s.value for s in JobStatus)}.")
    try:
        number = int(page) if page else 1
    except ValueError:
        number = 0
    if not 1 <= number <= 1_000_000:
        return _error(request, viewer, 400, f"Expected a page number of 1 or more. "
                      f"Received: page={str(page)[:40]!r}")
    owner = (owner or "").strip()[:100] or None
    try:
        table = service.jobs_page(session, viewer, owner=owner, status=status or None,
                                  page=number)
    except APIError as exc:
        return _error(request, viewer, exc.status_code, exc.message)
    return _page(request, "jobs.html", {"table": table, "status": status or "",
                                        "owner": owner or "", "statuses": list(JobStatus)},
                 viewer)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job(request: Request, job_id: str, session: SessionDep, settings: SettingsDep,
        notice: str | None = None) -> Response:
    """One job: charts, arguments, layers, attempts, events, cancel, download."""
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    try:
        detail = service.job_detail(session, viewer, job_id)
    except APIError as exc:
        return _error(request, viewer, exc.status_code, exc.message)
    return _page(request, "job.html", {"d": detail, "detail_json": detail.model_dump(
        mode="json"), "notice": _NOTICES.get(notice or "")}, viewer)


@router.get("/workers", response_class=HTMLResponse)
def workers(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Workers, queues and the last hour's outcomes."""
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    summary = service.summary(session, settings, viewer, dashboard_state(request).celery)
    return _page(request, "workers.html", {"s": summary}, viewer)


@router.post("/jobs/{job_id}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, job_id: str, session: SessionDep, settings: SettingsDep
                 ) -> Response:
    """Cancel a job from its page: the session's CSRF token must come with the form."""
    form = await _form(request)
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    if not csrf_ok(viewer, form.get("csrf_token")):
        return _error(request, viewer, 403, "The form's security token is missing or "
                      "stale. Reload the page and try again.")
    try:
        row = service.visible_job(session, viewer, job_id)
    except APIError as exc:
        return _error(request, viewer, exc.status_code, exc.message)
    if row.owner != viewer.name:
        return _error(request, viewer, 403, "Only the job's owner can cancel it.")
    status = job_store.cancel_job(session, row.id)
    session.commit()
    notice = {JobStatus.CANCELLED: JobStatus.CANCELLED.value,
              JobStatus.RUNNING: "cancel_requested"}.get(JobStatus(status), "already_finished")
    return RedirectResponse(f"/dashboard/jobs/{row.id}?notice={notice}", 303)


def _trained_job(request: Request, job_id: str, session: Any, settings: Any
                 ) -> tuple[Any, JobRow] | Response:
    """The viewer and a job of theirs that stored weights, or the page to answer."""
    viewer = _viewer(request, session, settings)
    if viewer is None:
        return _to_login(request)
    try:
        row = service.visible_job(session, viewer, job_id)
    except APIError as exc:
        return _error(request, viewer, exc.status_code, exc.message)
    if row.weights_version_out is None:
        return _error(request, viewer, 404, "This job stored no weights.")
    return viewer, row


def _attachment(session: Any, row: JobRow, suffix: str, data: bytes,
                headers: dict[str, str] | None = None) -> Response:
    model = get_model(session, row.model_id)
    name = "".join(c if c.isalnum() or c in "-_" else "_"
                   for c in (model.name if model else "model"))[:60]
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}-{row.id[:8]}{suffix}"',
        **(headers or {})})


@router.get("/jobs/{job_id}/weights.npz")
def weights(request: Request, job_id: str, session: SessionDep, settings: SettingsDep
            ) -> Response:
    """The weights this job trained, as `.npz` (`weights/0000`, ... in Keras's
    `get_weights()` order)."""
    found = _trained_job(request, job_id, session, settings)
    if isinstance(found, Response):
        return found
    viewer, row = found
    stored = get_weights(session, row.model_id, row.weights_version_out)
    if stored is None:
        return _error(request, viewer, 404, "This job stored no weights.")
    return _attachment(session, row, f"-weights-v{stored.version}.npz", stored.data,
                       {"X-Horn-Weights-Version": str(stored.version)})


@router.get("/jobs/{job_id}/model.keras")
async def keras_file(request: Request, job_id: str, session: SessionDep,
                     settings: SettingsDep) -> Response:
    """The model this job trained as a `.keras` file (written by Keras on a worker, in a
    short session job), which plain `keras.models.load_model` opens."""
    found = _trained_job(request, job_id, session, settings)
    if isinstance(found, Response):
        return found
    viewer, row = found
    try:
        data = await anyio.to_thread.run_sync(functools.partial(
            export_keras, request.app.state.engine, request.app.state.sender, settings,
            owner=row.owner, model_id=row.model_id, compile_config=row.compile_config,
            weights_version=row.weights_version_out))
    except ExportFailed as exc:
        return _error(request, viewer, 503, f"The .keras file could not be written: {exc}")
    return _attachment(session, row, ".keras", data)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, session: SessionDep, settings: SettingsDep,
               next: str | None = None) -> Response:
    """The login form (an API key)."""
    if not auth_enabled(settings):
        return RedirectResponse(_safe_next(next), 303)
    return _page(request, "login.html", {"next": _safe_next(next), "message": None}, None)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, session: SessionDep, settings: SettingsDep
                       ) -> Response:
    """Check the posted API key; on success start a session and go on."""
    form = await _form(request)
    target = _safe_next(form.get("next"))
    if not auth_enabled(settings):
        return RedirectResponse(target, 303)
    user = login(session, form.get("api_key", "")[:200])
    if user is None:
        return _page(request, "login.html", {
            "next": target, "message": "That API key is unknown, malformed or revoked."},
            None, 401)
    response = RedirectResponse(target, 303)
    set_session_cookie(response, request, new_session(user.name),
                       dashboard_state(request).secret)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """End the session (CSRF-checked)."""
    form = await _form(request)
    viewer = _viewer(request, session, settings)
    if viewer is not None and not csrf_ok(viewer, form.get("csrf_token")):
        return _error(request, viewer, 403, "The form's security token is missing or stale.")
    response = RedirectResponse("/dashboard/login" if auth_enabled(settings)
                                else "/dashboard", 303)
    clear_session_cookie(response)
    return response


@router.get("/{rest:path}", response_class=HTMLResponse)
def not_found(request: Request, rest: str, session: SessionDep, settings: SettingsDep
              ) -> Response:
    """Any other dashboard address: a 404 page (`/dashboard/` goes to the jobs)."""
    if not rest:
        return RedirectResponse("/dashboard", 303)
    viewer = _viewer(request, session, settings)
    return _error(request, viewer, 404, f"There is no dashboard page at /dashboard/"
                  f"{rest[:80]}.")
