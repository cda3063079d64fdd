"""What the dashboard shows, assembled from the store: the same functions serve the HTML
pages and their JSON, so the two never disagree."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from horn.schemas.api import JobKind, JobStatus
from horn.schemas.queues import expand_queues
from horn.server.core.exceptions import NotFound
from horn.server.dashboard import queries, views
from horn.server.dashboard.auth import Viewer
from horn.server.dashboard.schemas import (
    DashboardJobDetail,
    DashboardJobs,
    DashboardSummary,
    QueueDepth,
)
from horn.server.dashboard.workers import RECENT_WINDOW, CeleryCensus, census
from horn.server.metrics import queue_depths
from horn.server.store.models import get_model
from horn.server.store.tables import JobRow
from horn.settings import ServerSettings

_JOB_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]{0,99}")
PER_PAGE = 25
MAX_PER_PAGE = 200


class PageOutOfRange(NotFound):
    """A page number past the last page."""


def visible_job(session: Session, viewer: Viewer, job_id: str) -> JobRow:
    """The job, if the viewer may see it (its owner, or an admin).

    Raises:
        NotFound: no such job, or another user's.
    """
    row = session.get(JobRow, job_id) if _JOB_ID.fullmatch(job_id) else None
    if row is None or not (viewer.is_admin or row.owner == viewer.name):
        raise NotFound(f"No job with id {job_id[:80]!r}.")
    return row


def jobs_page(session: Session, viewer: Viewer, *, owner: str | None, status: str | None,
              page: int, per_page: int = PER_PAGE) -> DashboardJobs:
    """One page of the jobs table, newest first.

    A user sees only their own jobs whatever `owner` says; an admin may filter by owner.

    Raises:
        PageOutOfRange: `page` is past the last page (page 1 always exists).
    """
    effective = viewer.owner_filter if viewer.owner_filter is not None else owner
    rows: Sequence[JobRow] = []
    count = 0
    if owner and not _OWNER.fullmatch(owner):
        pass  # no user has such a name: nothing matches
    elif viewer.owner_filter is None or not owner or owner == viewer.name:
        rows, count = queries.page_of_jobs(session, owner=effective, status=status,
                                           limit=per_page, offset=(page - 1) * per_page)
    pages = max(1, math.ceil(count / per_page))
    if page > pages:
        raise PageOutOfRange(f"There is no page {page}: the {count} matching jobs fill "
                             f"{pages} page(s) of {per_page}.", {"pages": pages})
    ids = [row.id for row in rows]
    names = queries.model_names(session, {row.model_id for row in rows})
    epochs = queries.latest_epoch_events(
        session, [row.id for row in rows if row.kind == JobKind.FIT.value])
    metrics = queries.latest_metrics(session, ids)
    now = datetime.now(UTC)
    return DashboardJobs(
        data=[views.job_row(row, names.get(row.model_id), epochs.get(row.id),
                            metrics.get(row.id), now) for row in rows],
        count=count, page=page, per_page=per_page, pages=pages,
        counts=queries.status_counts(session, viewer.owner_filter))


def summary(session: Session, settings: ServerSettings, viewer: Viewer,
            celery: CeleryCensus) -> DashboardSummary:
    """Counts by status, the last hour's outcomes, queue depths and workers."""
    owner = viewer.owner_filter
    counts = queries.status_counts(session, owner)
    now = datetime.now(UTC)
    last_hour = queries.finished_since(session, owner, now - timedelta(hours=1))
    named = sorted({settings.queue, *queries.known_queues(session)})
    celery_queues = expand_queues(named)
    broker_up = True
    try:
        depths = queue_depths(settings, celery_queues)
    except Exception:
        broker_up, depths = False, {}
    nodes = celery.get()
    running = list(queries.running_jobs(session))
    recent = queries.recent_workers(session, RECENT_WINDOW)
    workers = census(settings, running, recent, nodes, set(celery_queues), owner)
    return DashboardSummary(
        counts=counts, total=sum(counts.values()),
        succeeded_last_hour=last_hour.get(JobStatus.SUCCEEDED.value, 0),
        failed_last_hour=last_hour.get(JobStatus.FAILED.value, 0),
        queues=[QueueDepth(queue=q, depth=depths.get(q, 0)) for q in celery_queues
                if q in depths or not broker_up],
        broker_up=broker_up, celery_inspected=nodes is not None, workers=workers,
        generated_at=now)


def job_detail(session: Session, viewer: Viewer, job_id: str) -> DashboardJobDetail:
    """Everything the job page shows.

    Raises:
        NotFound: no such job, or another user's.
    """
    row = visible_job(session, viewer, job_id)
    model = get_model(session, row.model_id)
    metric_rows = queries.job_metrics(session, row.id)
    latest: dict[str, float] = {}
    if metric_rows:
        last_epoch = metric_rows[-1].epoch
        latest = {m.name: m.value for m in metric_rows if m.epoch == last_epoch}
    epoch_event = queries.latest_epoch_events(session, [row.id]).get(row.id)
    events, truncated = queries.log_events(session, row.id)
    now = datetime.now(UTC)
    owner_may_cancel = row.owner == viewer.name and not JobStatus(row.status).is_terminal
    weights_url = (f"/dashboard/jobs/{row.id}/weights.npz"
                   if row.weights_version_out is not None else None)
    return DashboardJobDetail(
        job=views.job_row(row, model.name if model else None, epoch_event, latest, now),
        model_class=str(model.spec.get("class_name")) if model else None,
        layers=views.layers(model.spec) if model else [],
        compile_config=row.compile_config, args=row.args, result=_result_summary(row),
        error=row.error, charts=views.charts(metric_rows),
        attempts=views.attempts(queries.status_events(session, row.id)),
        events=[views.event_view(e) for e in events], events_truncated=truncated,
        can_cancel=owner_may_cancel, weights_url=weights_url)


def _result_summary(row: JobRow) -> dict[str, object] | None:
    """The job's result without the bulky per-epoch history (the charts show it), and
    predictions returned inside it shown by their size, not their base64."""
    if not row.result:
        return None
    return {k: views.inline_described(v) for k, v in row.result.items()
            if k not in ("history", "epoch")}

