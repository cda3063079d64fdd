"""The server's exceptions: each one an error of the API contract (`horn.schemas.errors`).

No web framework here, so the store may raise them too; `horn.server.core.errors`
turns them into responses.
"""

from __future__ import annotations

import math
from typing import Any

from horn.schemas.errors import ERROR_CODE_TO_HTTP_STATUS, ErrorCode


class APIError(Exception):
    """An error a client caused or must know about, with its HTTP status and code."""

    code: ErrorCode = ErrorCode.INVALID_ARGUMENT
    status_code = ERROR_CODE_TO_HTTP_STATUS[ErrorCode.INVALID_ARGUMENT]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status_code = ERROR_CODE_TO_HTTP_STATUS[cls.code]

    def __init__(self, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class InvalidArgument(APIError):
    """The request is well-formed but its content is wrong."""


class Unauthenticated(APIError):
    """No valid API key came with the request."""

    code = ErrorCode.UNAUTHENTICATED

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(APIError):
    """The caller is known but may not do this (e.g. an admin route)."""

    code = ErrorCode.FORBIDDEN


class RateLimited(APIError):
    """Too many requests or jobs; retry after `Retry-After` seconds."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, retry_after: float,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details,
                         headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


class NotFound(APIError):
    """No such resource (or not yours)."""

    code = ErrorCode.NOT_FOUND


class Conflict(APIError):
    """The resource is not in a state that allows this."""

    code = ErrorCode.CONFLICT


class PayloadTooLarge(APIError):
    """The upload is over the configured limit."""

    code = ErrorCode.PAYLOAD_TOO_LARGE


class ServiceUnavailable(APIError):
    """A dependency (database, broker) is down; retry later."""

    code = ErrorCode.UNAVAILABLE
