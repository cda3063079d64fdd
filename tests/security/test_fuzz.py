"""Fuzz the API with schemathesis from the server's own OpenAPI schema, authenticated:
no response may be a 5xx, and every response must match the schema it declares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.conftest import COMPILE, dense_spec, make_server, upload

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
SKIP = {"GET /v1/jobs/{job_id}/events"}  # a stream that stays open until the job ends


def _fuzz(operation: schemathesis.APIOperation, headers: dict[str, str],
          tried: dict[str, int]) -> None:
    label = operation.label

    @given(case=operation.as_strategy())
    # derandomize: the same examples on every run, so CI repeats what passed here.
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        tried[label] = tried.get(label, 0) + 1
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    run()


def test_fuzz_the_api_from_its_own_schema(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    srv = make_server(tmp_path, rate_limit_per_second=0)
    with srv.client:
        # Some real resources, so that generated ids sometimes hit something.
        model = srv.call("alice", "POST", "/v1/models",
                         json={"name": "m", "spec": dense_spec()}).json()
        x = upload(srv, "alice", np.zeros((4, 4), "float32"))
        y = upload(srv, "alice", np.zeros(4, "int64"))
        srv.call("alice", "POST", "/v1/jobs", json={
            "model_id": model["id"], "kind": "fit", "compile_config": COMPILE,
            "data": {"x": x, "y": y}})
        schema = schemathesis.openapi.from_asgi("/openapi.json", srv.client.app)
        headers = srv.as_("admin")
        tried: dict[str, int] = {}
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.label in SKIP:
                continue

            _fuzz(operation, headers, tried)
    total = sum(tried.values())
    with capsys.disabled():
        print(f"\nschemathesis: {total} requests over {len(tried)} operations, "
              "0 server errors, 0 schema violations")
    assert total >= len(tried) * 5
