"""Every exception the SDK raises, in one tree.

    HornError
    ├── APIError                 the server answered with an error envelope
    │   ├── InvalidArgument      (also a ValueError)   400/422
    │   ├── Unauthenticated      401
    │   ├── Forbidden            403
    │   ├── NotFound             (also a LookupError)  404
    │   ├── Conflict             409
    │   ├── PayloadTooLarge      413
    │   ├── RateLimited          429
    │   ├── ServerError          500
    │   └── ServiceUnavailable   502/503/504
    ├── TransportError           the server could not be reached
    │   ├── ConnectError
    │   └── Timeout
    ├── JobFailed                a job failed on the worker; subclasses also derive from
    │                            the built-in type the worker raised (ValueError, ...)
    └── JobCancelled
"""

from __future__ import annotations

import builtins
import functools
from typing import Any

from horn.schemas.errors import ErrorCode, code_for_status


class HornError(Exception):
    """Base of every error raised by the SDK."""


class APIError(HornError):
    """The server refused the request; `code`, `status_code` and `details` say why."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.details = details


class InvalidArgument(APIError, ValueError):
    """The request's content was refused (HTTP 400/422)."""


class Unauthenticated(APIError):
    """No valid API key (HTTP 401)."""


class Forbidden(APIError):
    """Not allowed (HTTP 403)."""


class NotFound(APIError, LookupError):
    """No such resource, or not yours (HTTP 404)."""


class Conflict(APIError):
    """The resource is not in a state that allows this (HTTP 409)."""


class PayloadTooLarge(APIError):
    """An upload over the server's limit (HTTP 413)."""


class RateLimited(APIError):
    """Too many requests or jobs (HTTP 429)."""


class ServerError(APIError):
    """The server failed (HTTP 500)."""


class ServiceUnavailable(APIError):
    """The server or one of its dependencies is temporarily down (HTTP 502/503/504)."""


class TransportError(HornError):
    """The server could not be reached or did not answer in time."""


class ConnectError(TransportError):
    """No connection to the server."""


class Timeout(TransportError):
    """The server did not answer in time."""


class JobFailed(HornError):
    """A job failed on the worker. `job_id`, `error_type` and the worker's message."""

    def __init__(self, message: str, *, job_id: str, error_type: str = "Exception") -> None:
        super().__init__(message)
        self.message = message
        self.job_id = job_id
        self.error_type = error_type


class JobCancelled(HornError):
    """The job was cancelled before it finished."""

    def __init__(self, message: str, *, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


#: The exception of each error code of the API contract (`horn.schemas.errors`).
_CODE_CLASSES: dict[ErrorCode, type[APIError]] = {
    ErrorCode.INVALID_ARGUMENT: InvalidArgument,
    ErrorCode.UNAUTHENTICATED: Unauthenticated,
    ErrorCode.FORBIDDEN: Forbidden,
    ErrorCode.NOT_FOUND: NotFound,
    ErrorCode.CONFLICT: Conflict,
    ErrorCode.PAYLOAD_TOO_LARGE: PayloadTooLarge,
    ErrorCode.RATE_LIMITED: RateLimited,
    ErrorCode.INTERNAL: ServerError,
    ErrorCode.UNAVAILABLE: ServiceUnavailable,
    ErrorCode.TIMEOUT: ServiceUnavailable,
}


def _error_class(status_code: int, code: Any) -> type[APIError]:
    """The class of the envelope's code; a bare status (a proxy's answer) by its code."""
    try:
        known = ErrorCode(code)
    except ValueError:
        known = None
    if known is None or known not in _CODE_CLASSES:
        known = code_for_status(status_code)
    return _CODE_CLASSES.get(known, ServerError if status_code >= 500 else APIError)


def api_error_for(status_code: int, body: Any) -> APIError:
    """Rebuild the exception the server meant from its status and error envelope."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or f"HTTP {status_code}")
        code, details = error.get("code"), error.get("details")
    else:
        message, code, details = f"The server answered HTTP {status_code}.", None, None
    cls = _error_class(status_code, code)
    return cls(message, status_code=status_code, code=code, details=details)


@functools.cache
def _job_failed_class(builtin_name: str) -> type[JobFailed]:
    base = getattr(builtins, builtin_name)
    return type(f"JobFailed{builtin_name}", (JobFailed, base),
                {"__module__": __name__,
                 "__doc__": f"A job failed on the worker with a {builtin_name}."})


def job_failed(job_id: str, error: dict[str, Any] | None) -> JobFailed:
    """The exception to raise for a failed job: a `JobFailed` that is also an instance
    of the built-in exception type the worker raised (e.g. `ValueError`), carrying
    Keras's message and the job id."""
    error = error or {}
    type_name = str(error.get("type") or "Exception")
    message = str(error.get("message") or "The job failed.")
    text = f"{message}\n(horn job {job_id} failed on the worker with {type_name})"
    for name in error.get("bases") or []:
        if isinstance(getattr(builtins, str(name), None), type) and issubclass(
                getattr(builtins, str(name)), Exception) and name not in (
                "BaseException", "Exception"):
            return _job_failed_class(str(name))(text, job_id=job_id, error_type=type_name)
    return JobFailed(text, job_id=job_id, error_type=type_name)
