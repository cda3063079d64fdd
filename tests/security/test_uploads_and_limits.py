"""Blob uploads (ids, sizes, truncation, pickles) and the resource limits on jobs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from horn.schemas import npy as npy_checks
from horn.schemas.contenthash import blob_id as blob_id_of
from horn.server.store.db import transaction
from horn.server.store.tables import JobRow
from tests.security.conftest import (
    COMPILE,
    Server,
    assert_error,
    dense_spec,
    make_server,
    npy,
    upload,
)


@pytest.mark.parametrize("blob_id, status", [
    ("../../../../etc/passwd", 404),
    ("..%2F..%2F..%2Fetc%2Fpasswd", 400),
    ("%2e%2e%2f%2e%2e%2fetc%2fpasswd", 400),
    ("..", 404),
    ("A" * 64, 400),
    ("0" * 63, 400),
    ("0" * 65, 400),
    ("0" * 62 + "/.", 404),
    ("0" * 64 + "%00", 400),
    ("..%5C..%5Cwindows", 400),
])
def test_path_traversal_in_blob_ids(server: Server, blob_id: str, status: int) -> None:
    for method in ("PUT", "GET"):
        response = server.call("alice", method, f"/v1/blobs/{blob_id}", content=b"x")
        assert response.status_code in (status, 400, 404, 405), response.text
        assert "root:" not in response.text
    assert_error(server.call("alice", "POST", "/v1/blobs/missing",
                             json={"ids": ["../../etc/passwd"]}), 422)


def test_oversized_upload_is_413(tmp_path: Path) -> None:
    srv = make_server(tmp_path, max_upload_bytes=1000)
    with srv.client:
        data = npy(np.zeros(1000, "float32"))
        response = srv.call("alice", "PUT", f"/v1/blobs/{blob_id_of(data)}",
                            content=data)
        assert_error(response, 413, "HORN_MAX_UPLOAD_BYTES")
    assert not list((tmp_path / "blobs").rglob("*.npy"))
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d[:-3], "truncated"),
    (lambda d: d + b"\0" * 8, "truncated"),
    (lambda d: d[:20], "header"),
    (lambda d: b"\x93NUMPY\x01\x00\xff\xff" + d[10:], "header"),
    (lambda d: d.replace(b"(10,)", b"(99999999999,)"), "truncated"),
])
def test_malformed_npy_is_refused(server: Server, mutate: object, needle: str) -> None:
    data = mutate(npy(np.arange(10, dtype="float32")))  # type: ignore[operator]
    response = server.call("alice", "PUT", f"/v1/blobs/{blob_id_of(data)}",
                           content=data)
    assert_error(response, 400, needle)


def test_pickles_and_object_arrays_are_refused(server: Server, tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (open, (str(marker), "w"))

    buffer = io.BytesIO()
    np.save(buffer, np.array([Evil()], dtype=object), allow_pickle=True)
    data = buffer.getvalue()
    response = server.call("alice", "PUT", f"/v1/blobs/{blob_id_of(data)}",
                           content=data)
    assert_error(response, 400, "object")
    assert not marker.exists()
    structured = npy(np.zeros(3, dtype=[("a", "f4"), ("b", "i4")]))
    response = server.call("alice", "PUT",
                           f"/v1/blobs/{blob_id_of(structured)}",
                           content=structured)
    assert_error(response, 400, "dtype")


def test_npy_helpers_never_unpickle() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(npy_checks.NpyFormatError, match="object"):
        npy_checks.from_npy_bytes(buffer.getvalue())
    good = npy(np.arange(6, dtype="int32").reshape(2, 3))
    header = npy_checks.parse_header(good)
    assert header.shape == (2, 3) and header.data_len == 24
    with pytest.raises(npy_checks.NpyFormatError, match="truncated"):
        npy_checks.check_length(header, len(good) - 1)
    with pytest.raises(npy_checks.NpyFormatError):
        npy_checks.parse_header(b"\x93NUMPY\x09\x00")


def _model(server: Server, spec: dict[str, object] | None = None) -> str:
    response = server.call("alice", "POST", "/v1/models",
                           json={"name": "m", "spec": spec or dense_spec()})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_model_size_is_limited(tmp_path: Path) -> None:
    srv = make_server(tmp_path, max_model_params=1000)
    with srv.client:
        assert srv.call("alice", "POST", "/v1/models",
                        json={"name": "ok", "spec": dense_spec(10, 50)}).status_code == 201
        error = assert_error(srv.call("alice", "POST", "/v1/models", json={
            "name": "big", "spec": dense_spec(100, 100)}), 400, "10,100 parameters",
            "HORN_MAX_MODEL_PARAMS", "1,000")
        assert error["details"]["params"] == 10_100


def test_job_limits(tmp_path: Path) -> None:
    srv = make_server(tmp_path, max_arrays_per_job=2, max_total_steps=100,
                      max_time_limit=60, max_queued_jobs_per_user=2,
                      max_running_jobs_per_user=1)
    with srv.client:
        model = _model(srv)
        x = upload(srv, "alice", np.zeros((320, 4), "float32"))
        y = upload(srv, "alice", np.zeros(320, "int64"))
        w = upload(srv, "alice", np.ones(320, "float32"))

        def fit(**extra: object) -> object:
            body = {"model_id": model, "kind": "fit", "compile_config": COMPILE,
                    "data": {"x": x, "y": y}, "args": {"epochs": 2}}
            body.update(extra)  # type: ignore[arg-type]
            return srv.call("alice", "POST", "/v1/jobs", json=body)

        assert_error(fit(data={"x": x, "y": y, "sample_weight": w}), 400,
                     "3 arrays", "HORN_MAX_ARRAYS_PER_JOB")
        assert_error(fit(args={"epochs": 11}), 400, "110 steps", "11 epochs x 10 steps")
        assert_error(fit(args={"epochs": 2, "steps_per_epoch": 51}), 400, "102")
        assert_error(fit(time_limit=61), 400, "time_limit=61", "HORN_MAX_TIME_LIMIT")
        assert fit().status_code == 201
        assert fit().status_code == 201
        response = fit()
        assert_error(response, 429, "2 jobs queued", "HORN_MAX_QUEUED_JOBS_PER_USER")
        assert int(response.headers["Retry-After"]) > 0
        assert srv.call("bob", "POST", "/v1/models", json={
            "name": "b", "spec": dense_spec()}).status_code == 201  # others unaffected
        with transaction(srv.client.app.state.engine) as session:
            session.query(JobRow).update({"status": "running"})
        assert_error(fit(), 429, "running", "HORN_MAX_RUNNING_JOBS_PER_USER")
