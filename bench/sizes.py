"""How big and how often: the issue's sizes (`FULL`) and tiny ones for a smoke run
(`QUICK`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Every size and repeat count the suite uses."""

    repeats: int
    """Timed runs of each training figure, each way (after one warm-up)."""
    mlp_samples: int
    conv_samples: int
    epochs: int
    batch_size: int
    tiny_samples: int
    """Samples of the tiny model's one-epoch fit (fixed latency, stability)."""
    tiny_repeats: int
    floor_repeats: int
    """Round trips of the empty Celery task."""
    batch_calls: int
    """Timed `train_on_batch` / `predict_on_batch` calls, each."""
    upload_bytes: int
    upload_repeats: int
    refit_repeats: int
    predict_rows: int
    predict_repeats: int
    load_clients: int
    load_seconds: float
    submit_users: int
    submissions: int
    event_epochs: int
    event_fits: int
    stability_jobs: int
    scaleout_jobs: int
    """Jobs of each scale-out phase."""
    scaleout_rounds: int
    """Phases of each scale-out configuration (one worker, two), taking turns."""
    scaleout_threads: int
    sensitivity_pairs: int
    """Local MLP fits alone and under a light periodic load, each (the machine's
    sensitivity to other processes)."""


FULL = Sizes(
    repeats=7, mlp_samples=60_000, conv_samples=10_000, epochs=3, batch_size=128,
    tiny_samples=256, tiny_repeats=30, floor_repeats=200, batch_calls=200,
    upload_bytes=1_000_000_000, upload_repeats=5, refit_repeats=5,
    predict_rows=100_000, predict_repeats=5,
    load_clients=50, load_seconds=20.0, submit_users=10, submissions=500,
    event_epochs=40, event_fits=3, stability_jobs=200, scaleout_jobs=200,
    scaleout_rounds=3, scaleout_threads=8, sensitivity_pairs=5,
)

QUICK = Sizes(
    repeats=1, mlp_samples=1_000, conv_samples=300, epochs=1, batch_size=128,
    tiny_samples=256, tiny_repeats=2, floor_repeats=10, batch_calls=10,
    upload_bytes=20_000_000, upload_repeats=1, refit_repeats=1,
    predict_rows=2_000, predict_repeats=1,
    load_clients=5, load_seconds=1.5, submit_users=2, submissions=10,
    event_epochs=4, event_fits=1, stability_jobs=4, scaleout_jobs=4,
    scaleout_rounds=1, scaleout_threads=2, sensitivity_pairs=1,
)
