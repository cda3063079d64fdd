"""The predict kind: Keras's `Model.predict`, its outputs inline or as blobs."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Engine

from horn.schemas.npy import to_data_url, to_npy_bytes
from horn.schemas.tree import flatten, map_leaves
from horn.server.store.blobs import BlobStore
from horn.worker.progress import ProgressCallback
from horn.worker.tasks.context import JobContext
from horn.worker.tasks.outcome import Outcome
from horn.worker.tasks.storage import store_output


def run(ctx: JobContext) -> Outcome:
    """Predict with the job's model on its data.

    Raises:
        LeaseLost: another worker took the job over; nothing must be written.
    """
    version = ctx.keep_initial_weights()
    result = _predict(ctx.model, ctx.args, ctx.arrays, ctx.progress, ctx.blobs, ctx.engine,
                      ctx.job.owner, ctx.settings.max_inline_output_bytes)
    return ctx.ending(result, version)


def _predict(model: Any, args: dict[str, Any], arrays: dict[str, Any],
             progress: ProgressCallback, blobs: BlobStore, engine: Engine,
             owner: str, inline_limit: int) -> dict[str, Any]:
    """`Model.predict`; the outputs as blob ids, or inside the result as `data:` URLs when
    they fit in `inline_limit` and the job's `inline_bytes` (the caller reads them)."""
    outputs = model.predict(arrays["x"], batch_size=args.get("batch_size"), verbose=0,
                            steps=args.get("steps"), callbacks=[progress])
    inline = _as_data_urls(outputs, min(int(args.get("inline_bytes") or 0), inline_limit))
    if inline is not None:  # small: no blob to write, record and fetch
        return {"outputs": inline}
    return {"outputs": map_leaves(lambda value: store_output(
        blobs, engine, owner, to_npy_bytes(np.asarray(value))), outputs)}


def _as_data_urls(outputs: Any, limit: int) -> Any:
    """The outputs as `data:` URLs when their `.npy` bytes come to at most `limit` in
    all; None otherwise. Large outputs are not encoded here: each is encoded only as it
    is stored."""
    if sum(np.asarray(leaf).nbytes for leaf in flatten(outputs)) > limit:
        return None
    encoded = map_leaves(lambda value: to_npy_bytes(np.asarray(value)), outputs)
    if sum(len(data) for data in flatten(encoded)) > limit:  # with the headers
        return None
    return map_leaves(to_data_url, encoded)
