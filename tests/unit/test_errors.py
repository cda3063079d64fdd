"""One error contract: envelopes become the SDK's exceptions; worker errors keep their kind."""

from __future__ import annotations

import pytest

from horn import errors
from horn.worker.tasks.run_job import describe_error


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.InvalidArgument), (404, errors.NotFound), (409, errors.Conflict),
    (413, errors.PayloadTooLarge), (422, errors.InvalidArgument), (429, errors.RateLimited),
    (500, errors.ServerError), (503, errors.ServiceUnavailable)])
def test_envelope_to_exception(status: int, cls: type[errors.APIError]) -> None:
    body = {"error": {"code": "x", "message": "what went wrong", "details": {"k": 1}}}
    exc = errors.api_error_for(status, body)
    assert type(exc) is cls
    assert str(exc) == "what went wrong" and exc.details == {"k": 1}
    assert exc.status_code == status and isinstance(exc, errors.HornError)


def test_not_an_envelope() -> None:
    exc = errors.api_error_for(502, "<html>bad gateway</html>")
    assert isinstance(exc, errors.ServiceUnavailable) and "502" in str(exc)


def test_invalid_argument_is_a_value_error() -> None:
    assert issubclass(errors.InvalidArgument, ValueError)
    assert issubclass(errors.NotFound, LookupError)


def test_worker_value_error_becomes_value_error_on_client() -> None:
    try:
        raise ValueError('Input 0 of layer "dense" is incompatible with the layer')
    except ValueError as raised:
        described = describe_error(raised)
    assert described["type"] == "ValueError" and described["bases"] == ["ValueError"]
    exc = errors.job_failed("abc123", described)
    assert isinstance(exc, ValueError) and isinstance(exc, errors.JobFailed)
    assert exc.job_id == "abc123" and "incompatible" in str(exc) and "abc123" in str(exc)


def test_subclass_of_builtin_keeps_the_builtin_kind() -> None:
    class ShapeError(TypeError):
        pass

    described = describe_error(ShapeError("bad"))
    assert described["type"] == "ShapeError" and described["bases"][0] == "TypeError"
    assert isinstance(errors.job_failed("j", described), TypeError)


def test_unknown_kind_is_plain_job_failed() -> None:
    exc = errors.job_failed("j", {"type": "OpError", "bases": [], "message": "boom"})
    assert type(exc) is errors.JobFailed and exc.error_type == "OpError"
    # A forged base name from the wire never picks an arbitrary class.
    exc = errors.job_failed("j", {"type": "X", "bases": ["SystemExit", "print"],
                                  "message": "m"})
    assert type(exc) is errors.JobFailed
