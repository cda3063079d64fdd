"""The error handlers: every exception becomes an `{"error": {...}}` response."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from horn.schemas.errors import ErrorCode, code_for_status
from horn.schemas.npy import NpyFormatError
from horn.schemas.validate import SpecError
from horn.server.core.exceptions import APIError
from horn.server.store.blobs import BlobError, BlobTooLarge
from horn.server.store.db import is_outage

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str,
                   details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON response in the error envelope."""
    return JSONResponse(status_code=status, headers=headers,
                        content={"error": {"code": code, "message": message,
                                           "details": details}})


def _describe_validation(exc: RequestValidationError) -> tuple[str, dict[str, Any]]:
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        received = err.get("input")
        text = f"`{where or 'body'}`: {err.get('msg')}"
        if received is not None and not isinstance(received, (dict, list)):
            text += f". Received: {str(received)[:100]!r}"
        problems.append(text)
    message = "Invalid request. " + "; ".join(problems[:5])
    return message, {"errors": [{"loc": [str(p) for p in e.get("loc", ())],
                                 "msg": e.get("msg"), "type": e.get("type")}
                                for e in exc.errors()[:20]]}


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to the error envelope; bad input never becomes a 500."""

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details,
                              headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _describe_validation(exc)
        return error_response(422, ErrorCode.INVALID_ARGUMENT, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = code_for_status(exc.status_code)
        return error_response(exc.status_code, code, str(exc.detail),
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(BlobTooLarge)
    async def _too_large(_: Request, exc: BlobTooLarge) -> JSONResponse:
        return error_response(413, ErrorCode.PAYLOAD_TOO_LARGE, str(exc))

    for kind in (SpecError, NpyFormatError, BlobError):
        @app.exception_handler(kind)
        async def _invalid(_: Request, exc: Exception) -> JSONResponse:
            return error_response(400, ErrorCode.INVALID_ARGUMENT, str(exc))

    @app.exception_handler(OperationalError)
    async def _db_down(_: Request, exc: OperationalError) -> JSONResponse:
        if not is_outage(exc):  # a program limit (a value too large for an index)
            return error_response(400, ErrorCode.INVALID_ARGUMENT,
                                  "The request holds a value too large for the database "
                                  "(a name or key of thousands of characters). Shorten it "
                                  "and retry.")
        return error_response(
            503, ErrorCode.UNAVAILABLE,
            "The database is unavailable; the request was not carried out. Retry shortly.",
            headers={"Retry-After": "2"})

    @app.exception_handler(DataError)
    async def _bad_value(_: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot store (a NUL character in a string, a number out
        # of its range): the request's fault, not the server's.
        return error_response(400, ErrorCode.INVALID_ARGUMENT,
                              "The request holds a value the database cannot store (a NUL "
                              "character, or a number out of range). Remove it and retry.")

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        return error_response(400, ErrorCode.INVALID_ARGUMENT,
                              f"A number in the request is too large: {exc}.")

    @app.exception_handler(DBAPIError)
    async def _db_error(_: Request, exc: DBAPIError) -> JSONResponse:
        if is_outage(exc):
            return error_response(503, ErrorCode.UNAVAILABLE, "The database connection was lost; "
                                  "retry shortly.", headers={"Retry-After": "2"})
        log.error("database error: %s", exc, exc_info=exc)
        return error_response(500, ErrorCode.INTERNAL, "The database rejected the operation.")
