"""A job's model: warm from this child's cache, a warm one taking a new model's state
over, or built from its spec; then given the state the job starts from."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from horn.schemas.api import JobKind
from horn.schemas.events import Resumed
from horn.worker import model_cache, runtime
from horn.worker.tasks.context import JobContext, JobRecord

SOURCES = {"warm": "was warm in this worker child",
           "taken_over": "took over a warm model of the same architecture",
           "built": "built from its spec"}
"""Where a job's model came from (`horn_worker_models_total{source}`), in words."""


@dataclass
class Choice:
    """What the warm-model cache offers a job, taken out of the cache."""

    cacheable: bool
    """Whether the job may use warm models and keep its own afterwards."""
    key: model_cache.Key
    shape: str
    warm: model_cache.Warm | None
    """A warm model of this model and compile config, ready to run."""
    twin: model_cache.Warm | None
    """A warm model that takes this one's state over instead."""


def choose(job: JobRecord, use_cache: bool) -> Choice:
    """Take the job's warm model (or one to take its state over) from the cache.

    Args:
        job: the job.
        use_cache: whether this worker keeps warm models (`HORN_MODEL_CACHE`). Seeded,
            resumed and imported jobs, and inspections, never use them.
    """
    key = (job.model_id, job.compile_id)
    cacheable = (use_cache and job.kind is not JobKind.INSPECT
                 and job.resume is None and job.imported is None
                 and job.args.get("seed") is None)
    shape = model_cache.shape_of(job.owner, job.spec, job.compile_config) if cacheable else ""
    warm = model_cache.cache().take(key) if cacheable else None
    twin: model_cache.Warm | None = None
    if warm is not None and warm.weights_version != job.weights_in and not (
            job.compile_id is not None and job.compile_id == job.weights_compile_id):
        # Weights without this compile's optimizer state: the model starts afresh (in
        # the warm one, given a new model's state, as for another model's below).
        twin, warm = warm, None
    return Choice(cacheable, key, shape, warm, twin)


def obtain(job: JobRecord, choice: Choice, x: Any, mirrored: bool) -> tuple[Any, str]:
    """The job's model and where it came from (a key of `SOURCES`).

    Args:
        job: the job.
        choice: what the cache offered it (`choose`).
        x: the job's input data, to build a model that has no input shape yet.
        mirrored: the model is built under `MirroredStrategy` (`HORN_DISTRIBUTE`): no
            warm model takes its state over.
    """
    if choice.warm is not None:
        return choice.warm.model, "warm"
    # A warm model of the same architecture takes this new model's state over.
    twin = choice.twin
    if mirrored:
        twin = None
    elif twin is None and choice.cacheable:
        twin = model_cache.cache().take_shape(choice.shape)
    model = build(job.spec, job.compile_config, job.args, x, twin is not None)
    if twin is not None:
        if runtime.adopt_state(twin.model, model):
            return twin.model, "taken_over"
        # Built for data of another shape: build this one where it runs.
        model = build(job.spec, job.compile_config, job.args, x, False)
    return model, "built"


def build(spec: dict[str, Any], compile_config: dict[str, Any] | None, args: dict[str, Any],
          x: Any, as_twin: bool) -> Any:
    """A new model from its spec, compiled: in the job's strategy scope, or on the CPU
    when only its state is wanted (a warm model takes it over)."""
    seeded = args.get("seed") is not None
    runtime.reset_session(keep_kernels=not seeded)
    if seeded:  # as the user's `keras.utils.set_random_seed`
        runtime.set_seed(int(args["seed"]))
    # All GPUs (HORN_DISTRIBUTE) and mixed precision; a twin only needs the policy.
    scope = runtime.twin_scope() if as_twin else contextlib.nullcontext()
    with runtime.strategy_scope(), scope:
        model = runtime.build_model(spec)
        runtime.ensure_built(model, x)
        if compile_config:
            runtime.compile_model(model, compile_config)
            if as_twin and model.built and model.optimizer is not None:
                model.optimizer.build(model.trainable_variables)  # its initial state
    return model


def restore(ctx: JobContext, warm: model_cache.Warm | None) -> dict[str, Any]:
    """Give the model the state the job starts from and set `ctx.has_weights`.

    A fit interrupted before (worker lost) resumes from its last checkpoint: weights and
    optimizer state restored, training continued at the next epoch (a `resumed` event).

    Returns:
        The history of the earlier attempts (empty unless resumed).
    """
    job, model = ctx.job, ctx.model
    prior: dict[str, Any] = {"history": {}, "epoch": []}
    ctx.has_weights = job.weights_data is not None
    if job.resume is not None:
        prior = job.resume.prior
        runtime.restore_state(model, job.resume.state, restore_optimizer=True)
        ctx.args["initial_epoch"] = max(int(ctx.args.get("initial_epoch", 0)),
                                        job.resume.epoch + 1)
        ctx.sink.emit(Resumed(epoch=job.resume.epoch + 1, attempt=job.attempt))
    elif job.weights_data is not None:
        if warm is None or warm.weights_version != job.weights_in:
            same_compile = job.compile_id is not None and job.compile_id == \
                job.weights_compile_id
            runtime.restore_state(model, job.weights_data, restore_optimizer=same_compile)
    elif job.imported is not None:  # a model imported from a `.keras` file (checked by the server)
        runtime.load_weights_file(model, ctx.blobs.read_bytes(job.imported))
        ctx.save_weights()
        ctx.has_weights = True  # the imported weights are now the model's first version
    return prior
