"""Every class of Keras deserialization attack, sent through the JSON API, is refused
with a 4xx and a clear message; the worker's own fence refuses it too, and nothing ever
runs (the marker file the payload would create never appears)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import COMPILE, Server, assert_error, dense_spec
from tests.security.payloads import SPECS


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hostile_model_spec_is_refused(server: Server, tmp_path: Path, name: str) -> None:
    build, needle = SPECS[name]
    marker = tmp_path / f"{name}.marker"
    response = server.call("alice", "POST", "/v1/models",
                           json={"name": name, "spec": build(marker)})
    assert_error(response, 400, needle)
    assert not marker.exists()


def _model(server: Server) -> str:
    response = server.call("alice", "POST", "/v1/models",
                           json={"name": "m", "spec": dense_spec()})
    assert response.status_code == 201
    return str(response.json()["id"])


@pytest.mark.parametrize("compile_config, needle", [
    ({**COMPILE, "optimizer": {"module": "os", "class_name": "system", "config": {}}},
     "os.system"),
    ({**COMPILE, "loss": {"module": "builtins", "class_name": "function", "config": "eval"}},
     "`eval`"),
    ({**COMPILE, "loss": {"class_name": "__lambda__", "config": {"code": "AAAA"}}},
     "__lambda__"),
    ({**COMPILE, "metrics": [{"module": "keras.metrics", "class_name": "Mean",
                              "registered_name": "Custom>Mean", "config": {}}]},
     "registered_name"),
])
def test_hostile_compile_config_is_refused(server: Server, compile_config: dict[str, Any],
                                           needle: str) -> None:
    model_id = _model(server)
    response = server.call("alice", "POST", "/v1/jobs", json={
        "model_id": model_id, "kind": "fit", "compile_config": compile_config,
        "data": {"x": "0" * 64}})
    assert_error(response, 400, needle)


@pytest.mark.parametrize("callback, needle", [
    ({"module": "keras.callbacks", "class_name": "LambdaCallback", "config": {}},
     "LambdaCallback"),
    ({"module": "keras.callbacks", "class_name": "ModelCheckpoint",
      "config": {"filepath": "/tmp/x.keras"}}, "ModelCheckpoint"),
    ({"module": "keras.callbacks", "class_name": "RemoteMonitor",
      "config": {"root": "http://evil.example"}}, "RemoteMonitor"),
])
def test_hostile_callback_is_refused(server: Server, callback: dict[str, Any],
                                     needle: str) -> None:
    model_id = _model(server)
    response = server.call("alice", "POST", "/v1/jobs", json={
        "model_id": model_id, "kind": "fit", "compile_config": COMPILE,
        "args": {"callbacks": [callback]}, "data": {"x": "0" * 64}})
    assert_error(response, 400, needle)


@pytest.mark.parametrize("body, needle", [
    (b'{"name": "m", "spec": {"class_name": "Sequential", "x": NaN}}', "NaN"),
    (b'{"name": "m", "spec": {"class_name": "Sequential", "x": Infinity}}', "Infinity"),
    (b'{"name": "m", "spec": {"class_name": "Sequential", "x": -Infinity}}', "Infinity"),
    (b'{"name": "m", "spec": {"class_name": "Sequential", "x": 1' + b"0" * 30 + b"}}",
     "64 bits"),
    (b'{"name": "m", "spec": {"class_name": "Sequential", "x": 9' * 1 + b"9" * 5000 + b"}}",
     "64 bits"),
])
def test_non_finite_and_huge_numbers_are_refused(server: Server, body: bytes,
                                                 needle: str) -> None:
    response = server.call("alice", "POST", "/v1/models", content=body,
                           headers={"Content-Type": "application/json"})
    assert_error(response, 400, needle)


def test_malformed_json_is_a_422(server: Server) -> None:
    for body in (b"{not json", b'{"name": "m", "spec": ', b"\xff\xfe", b"[]", b"null"):
        response = server.call("alice", "POST", "/v1/models", content=body,
                               headers={"Content-Type": "application/json"})
        assert_error(response, 422)


def test_numbers_in_specs_are_bounded(server: Server) -> None:
    spec = dense_spec()
    spec["config"]["layers"][1]["config"]["units"] = 2**60
    assert_error(server.call("alice", "POST", "/v1/models", json={"name": "m", "spec": spec}),
                 400, "2**53")
    spec["config"]["layers"][1]["config"]["units"] = 2**40
    assert_error(server.call("alice", "POST", "/v1/models", json={"name": "m", "spec": spec}),
                 400, "parameters")


@pytest.fixture(scope="module")
def keras_runtime() -> Any:
    pytest.importorskip("keras")
    from horn.worker import runtime

    return runtime


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_worker_refuses_it_too(keras_runtime: Any, tmp_path: Path, name: str) -> None:
    """The worker's `build_model` (what a job runs) refuses the spec before Keras sees
    it, even when the server was bypassed (a row written straight to the database)."""
    from horn.schemas.validate import SpecError

    build, _ = SPECS[name]
    marker = tmp_path / f"{name}.marker"
    with pytest.raises(SpecError):
        keras_runtime.build_model(build(marker))
    assert not marker.exists()


def test_the_lambda_payload_is_live(tmp_path: Path) -> None:
    """The Lambda payload really is code that writes the marker when unmarshalled and
    called, so the tests above prove something."""
    import base64
    import marshal
    import types

    marker = tmp_path / "live.marker"
    spec = SPECS["lambda_bytecode"][0](marker)
    config = spec["config"]["layers"][1]["config"]["function"]["config"]
    code = marshal.loads(base64.b64decode(config["code"]))
    types.FunctionType(code, {"open": open})(1)
    assert marker.exists()
