"""The error contract of the REST API: one table of error codes, read by both sides.

The server answers every error as ``{"error": {"code", "message", "details"}}`` with
the HTTP status `ERROR_CODE_TO_HTTP_STATUS` gives its code; the SDK rebuilds the same
exception class from the code (`horn.errors`), or from the status where a proxy
answered without the envelope (`HTTP_STATUS_TO_ERROR_CODE`).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The `code` of an error envelope."""

    INVALID_ARGUMENT = "invalid_argument"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    ERROR = "error"
    """Any other HTTP error status."""


ERROR_CODE_TO_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_ARGUMENT: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.TIMEOUT: 504,
}

#: The code of a bare HTTP status (a framework's own error, or a proxy's answer).
HTTP_STATUS_TO_ERROR_CODE: dict[int, ErrorCode] = {
    **{status: code for code, status in ERROR_CODE_TO_HTTP_STATUS.items()},
    422: ErrorCode.INVALID_ARGUMENT,
    502: ErrorCode.UNAVAILABLE,
}


def code_for_status(status: int) -> ErrorCode:
    """The error code of an HTTP status; `ErrorCode.ERROR` for one without its own."""
    return HTTP_STATUS_TO_ERROR_CODE.get(status, ErrorCode.ERROR)
