"""4. Data path: uploading a large float32 array (MB/s), the bytes a second `fit` on the
same arrays sends, and `predict` bringing 100,000x10 floats back (MB/s).

Bytes sent are counted from the SDK's HTTP requests (request line, headers and body,
as httpx builds them; TCP/IP framing not counted).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from bench import models
from bench.context import Context
from bench.report import Row, mb, mbps, median, ms

NAME = "datapath"
UPLOAD_TARGET = 500e6
REFIT_TARGET = 2048


@contextmanager
def counting(conn: Any) -> Iterator[dict[str, int]]:
    """Count the requests a connection sends and their bytes while the block runs."""
    counter = {"requests": 0, "bytes": 0}

    def hook(request: Any) -> None:
        counter["requests"] += 1
        size = len(f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n") + 2
        size += sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
        size += int(request.headers.get("content-length", 0))
        counter["bytes"] += size

    hooks = conn._client.event_hooks
    hooks["request"].append(hook)
    try:
        yield counter
    finally:
        hooks["request"].remove(hook)


def upload(ctx: Context) -> list[Row]:
    """Upload a fresh large array `upload_repeats` times (one value changed each time,
    so its hash differs); the blob is deleted after each run to spare the disk."""
    from horn import _data
    from horn.server.store.blobs import blob_key

    n = ctx.sizes.upload_bytes // 4
    array = np.random.default_rng(0).random(n, dtype=np.float32)
    rates, hashing = [], []
    for i in range(ctx.sizes.upload_repeats):
        array[0] = float(i) + 0.5
        began = time.perf_counter()
        encoded = _data.encode(array)
        hashed = time.perf_counter()
        sent = _data.upload(ctx.conn, [encoded])
        done = time.perf_counter()
        assert sent == encoded.nbytes, "the array was not uploaded"
        rates.append(sent / (done - hashed))
        hashing.append(encoded.nbytes / (hashed - began))
        (ctx.stack.workdir / "blobs" / blob_key(encoded.blob_id)).unlink(missing_ok=True)
    del array
    rate = median(rates)
    return [
        Row(NAME, f"upload {mb(ctx.sizes.upload_bytes)} float32 (PUT, loopback)",
            mbps(rate), f"BLAKE3 on the client {mbps(median(hashing))}",
            f">= {UPLOAD_TARGET / 1e6:.0f} MB/s", rate >= UPLOAD_TARGET,
            {"upload_bytes_per_s": rates, "hash_bytes_per_s": hashing}),
    ]


def refit(ctx: Context) -> list[Row]:
    """Bytes sent by later fits of a model on arrays the server already has."""
    from horn import keras
    x, y = models.data("tiny", ctx.sizes.tiny_samples)
    model = models.build(keras, "tiny")
    model.fit(x, y, epochs=1, verbose=0)  # uploads the arrays, registers the model
    sent, requests = [], []
    for _ in range(ctx.sizes.refit_repeats):
        with counting(ctx.conn) as counter:
            model.fit(x, y, epochs=1, verbose=0)
        sent.append(counter["bytes"])
        requests.append(counter["requests"])
    bytes_sent = median(sent)
    return [Row(NAME, "bytes sent by a second fit on the same arrays", mb(bytes_sent),
                f"{median(requests):.0f} requests", f"<= {REFIT_TARGET} B",
                bytes_sent <= REFIT_TARGET, {"bytes": sent, "requests": requests})]


def predict(ctx: Context) -> list[Row]:
    """`predict` of `predict_rows` rows into 10 float32 outputs: the download of the
    result and the whole call."""
    from horn import _data, keras

    rows = ctx.sizes.predict_rows
    x, _ = models.data("narrow", rows)
    model = models.build(keras, "narrow")
    model.predict(x, verbose=0)  # uploads x, stores the initial weights
    calls, downloads = [], []
    out_bytes = 0
    for _ in range(ctx.sizes.predict_repeats):
        began = time.perf_counter()
        job = model.predict(x, verbose=0, wait=False)
        outputs = job.wait()
        calls.append(time.perf_counter() - began)
        assert outputs.shape == (rows, 10)
        blob_id = ctx.conn.get(f"/v1/jobs/{job.id}")["result"]["outputs"]
        began = time.perf_counter()
        _data.download_array(ctx.conn, blob_id)
        downloads.append(time.perf_counter() - began)
        out_bytes = outputs.nbytes
    return [
        Row(NAME, f"predict {rows}x10 float32: result download",
            mbps(out_bytes / median(downloads)),
            f"whole predict call {ms(median(calls))}",
            values={"download_s": downloads, "call_s": calls, "bytes": out_bytes}),
        Row(NAME, f"predict {rows}x10 float32: whole call",
            mbps(out_bytes / median(calls)), values={}),
    ]


def run(ctx: Context) -> list[Row]:
    """Upload, second fit, predict."""
    return upload(ctx) + refit(ctx) + predict(ctx)
