"""Resource limits checked at submission, before anything is stored or queued."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from horn.schemas.estimate import estimate_model
from horn.server.core.exceptions import InvalidArgument, RateLimited
from horn.server.store.tables import JobRow
from horn.settings import LimitSettings

GIB = 1024**3


def check_model_size(spec: dict[str, Any], settings: LimitSettings) -> None:
    """Refuse a model whose estimated parameters or training memory exceed the limits.

    Raises:
        InvalidArgument: with the estimate and the limits.
    """
    estimate = estimate_model(spec)
    params, memory = estimate.params, estimate.training_bytes
    if params <= settings.max_model_params and memory <= settings.max_model_memory_bytes:
        return
    skipped = (f" ({len(estimate.skipped)} layers could not be counted, so the model is "
               "at least this large)") if estimate.skipped else ""
    raise InvalidArgument(
        f"The model is too large for this server: an estimated {params:,} parameters, "
        f"about {memory / GIB:.1f} GiB to train (weights, gradients and optimizer state)"
        f"{skipped}. Expected at most {settings.max_model_params:,} parameters "
        f"(HORN_MAX_MODEL_PARAMS) and {settings.max_model_memory_bytes / GIB:.1f} GiB "
        "(HORN_MAX_MODEL_MEMORY_BYTES). Use fewer or smaller layers, or ask the operator "
        "to raise the limits.",
        {"params": params, "training_bytes": memory, "max_params": settings.max_model_params,
         "max_memory_bytes": settings.max_model_memory_bytes,
         "skipped_layers": estimate.skipped[:50]})


def check_array_count(count: int, settings: LimitSettings) -> None:
    """Refuse a job naming more arrays than `HORN_MAX_ARRAYS_PER_JOB`."""
    if count > settings.max_arrays_per_job:
        raise InvalidArgument(
            f"The job names {count} arrays; this server accepts at most "
            f"{settings.max_arrays_per_job} per job (HORN_MAX_ARRAYS_PER_JOB). Concatenate "
            "inputs into fewer arrays.", {"arrays": count,
                                          "max_arrays": settings.max_arrays_per_job})


def check_steps(kind: str, args: dict[str, Any], samples: int | None,
                settings: LimitSettings) -> None:
    """Refuse a job whose epochs x steps per epoch exceed `HORN_MAX_TOTAL_STEPS`."""
    batch = args.get("batch_size") or 32
    if kind == "fit":
        steps = args.get("steps_per_epoch")
        if steps is None and samples is not None:
            steps = math.ceil(samples * (1 - args.get("validation_split", 0.0)) / batch)
        epochs = max(0, args.get("epochs", 1) - args.get("initial_epoch", 0))
        total = epochs * (steps or 1)
        what = f"{epochs} epochs x {steps or 1} steps"
    else:
        steps = args.get("steps") or (math.ceil(samples / batch) if samples else 1)
        total, what = steps, f"{steps} steps"
    if total > settings.max_total_steps:
        raise InvalidArgument(
            f"The job asks for {total:,} steps ({what}); this server runs at most "
            f"{settings.max_total_steps:,} per job (HORN_MAX_TOTAL_STEPS). Use fewer epochs, "
            "a larger batch_size or steps_per_epoch.",
            {"steps": total, "max_steps": settings.max_total_steps})


def check_time_limit(time_limit: int | None, settings: LimitSettings) -> None:
    """Refuse a `time_limit` over `HORN_MAX_TIME_LIMIT`."""
    if time_limit is not None and time_limit > settings.max_time_limit:
        raise InvalidArgument(
            f"Expected a time_limit of at most {settings.max_time_limit} seconds "
            f"(HORN_MAX_TIME_LIMIT). Received: time_limit={time_limit}. Split the training "
            "into several fits (each resumes from the model's newest weights).",
            {"time_limit": time_limit, "max_time_limit": settings.max_time_limit})


def check_job_quota(session: Session, owner: str, settings: LimitSettings) -> None:
    """Refuse a new job when the user has too many queued or running jobs (429).

    Raises:
        RateLimited: with `Retry-After`.
    """
    counts = dict(session.execute(
        select(JobRow.status, func.count()).where(
            JobRow.owner == owner, JobRow.status.in_(("queued", "running")))
        .group_by(JobRow.status)).tuples().all())
    queued, running = counts.get("queued", 0), counts.get("running", 0)
    if queued >= settings.max_queued_jobs_per_user:
        raise RateLimited(
            f"You have {queued} jobs queued, the most this server accepts per user "
            f"(HORN_MAX_QUEUED_JOBS_PER_USER={settings.max_queued_jobs_per_user}). Wait for "
            "some to start or cancel some, then submit again.", 30,
            {"queued": queued, "max_queued": settings.max_queued_jobs_per_user})
    if running >= settings.max_running_jobs_per_user:
        raise RateLimited(
            f"You have {running} jobs running, the most this server allows per user "
            f"(HORN_MAX_RUNNING_JOBS_PER_USER={settings.max_running_jobs_per_user}). Wait for "
            "one to finish or cancel one, then submit again.", 30,
            {"running": running, "max_running": settings.max_running_jobs_per_user})
