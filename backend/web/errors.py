"""Domain errors with stable codes, and the one JSON error shape every 4xx/5xx uses.

Body: ``{"detail": "<human sentence>", "code": "<stable_snake_case>"}``, plus ``errors`` (a
list of field problems) for validation failures. Services raise `AppError` subclasses;
`EXCEPTION_HANDLERS` turns them, Litestar's own HTTP exceptions and anything unexpected into
that shape. Each class also says when it happens (`doc`), which is what the OpenAPI document
lists for the routes that answer with it (`backend.web.openapi.failures`); the classes of
failures Litestar itself answers (bad JSON, CSRF, size) exist for that documentation.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
import sqlalchemy.exc
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)


class AppError(Exception):
    """A failure the client can act on. Subclasses fix the status and code."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    doc: ClassVar[str] = (
        "the request cannot be read: the body is not JSON, or a parameter is malformed"
    )
    """When it happens, in a few words, for the API's documentation."""

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return error_body(self.detail, self.code)


class BadRequestError(AppError):
    """The request cannot be read (the status, code and doc of every `AppError`'s base)."""


class CsrfFailedError(AppError):
    status_code = 403
    code = "csrf_failed"
    doc = "the `x-csrftoken` header is missing or differs from the `csrftoken` cookie"


class RequestTooLargeError(AppError):
    status_code = 413
    code = "request_too_large"
    doc = "the body is over the size limit"


class InvalidFieldError(AppError):
    """A field that passed the schema but breaks a rule of its own (say, password strength)."""

    status_code = 422
    code = "validation_error"
    doc = "the body or a parameter is not what the operation takes (`errors` names the fields)"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def body(self) -> dict[str, Any]:
        problem = {"key": self.field, "message": self.detail, "source": "body"}
        return error_body(f"{self.field}: {self.detail}", self.code, errors=[problem])


class NotAuthenticatedError(AppError):
    status_code = 401
    code = "not_authenticated"
    doc = "sign in first"


class PremiumRequiredError(AppError):
    status_code = 403
    code = "premium_required"
    doc = "the account is not premium"


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"
    doc = "there is no such thing"


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"
    doc = "the server cannot answer now; try again after `Retry-After` seconds"


class DatabaseUnavailableError(ServiceUnavailableError):
    code = "database_unavailable"
    doc = "the database is out of reach; try again after `Retry-After` seconds"


# Stable codes for Litestar's own HTTP exceptions, by status.
_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


# Litestar's own failures that clients must tell apart from others of the same status.
_DETAIL_CODES = {"CSRF token verification failed": CsrfFailedError.code}


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None) -> Response[Any]:
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)


def _app_error(_: Request[Any, Any, Any], exc: AppError) -> Response[Any]:
    return _json(exc.status_code, exc.body(), exc.headers)


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    detail = exc.detail if errors == [] else _first_problem(errors)
    body = error_body(detail, "validation_error", errors=errors)
    return _json(HTTP_422_UNPROCESSABLE_ENTITY, body, exc.headers)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        logger.error("HTTP %s: %s", status, exc.detail, exc_info=exc)
    code = (
        _DETAIL_CODES.get(exc.detail)
        or _HTTP_CODES.get(status)
        or HTTPStatus(status).phrase.lower().replace(" ", "_")
    )
    return _json(status, error_body(exc.detail, code), exc.headers)


# SQLSTATE classes of a lost or refused connection: 08 connection exception, 57P01-57P03
# admin/crash shutdown and "the database system is starting up".
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")


def database_unreachable(exc: BaseException) -> bool:
    """Is `exc` the database being out of reach (down, restarting, the connection lost)?"""
    seen: BaseException | None = exc
    while seen is not None:
        # InternalClientError: asyncpg's protocol left mid-operation by a connection lost.
        if isinstance(
            seen, OSError | TimeoutError | asyncpg.InterfaceError | asyncpg.InternalClientError
        ):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, sqlalchemy.exc.TimeoutError):  # no pool connection came free
            return True
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNREACHABLE_STATES):
            return True
        seen = seen.__cause__ or (seen.orig if isinstance(seen, DBAPIError) else None)
    return False


def _json_too_deep(exc: Exception) -> bool:
    """msgspec decoding JSON that nests deeper than Python's recursion limit (the request
    body): the client's fault, which Litestar does not turn into a 400 itself."""
    return isinstance(exc, RecursionError) and "while deserializing" in str(exc)


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _json_too_deep(exc):
        return _app_error(request, BadRequestError("The JSON nests too deeply"))
    if database_unreachable(exc):
        logger.warning("database unreachable on %s %s: %s", request.method, request.url.path, exc)
        unavailable = DatabaseUnavailableError(
            "The database is unreachable: try again in a moment", headers={"Retry-After": "5"}
        )
        return _app_error(request, unavailable)
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = error_body("Internal server error", "internal_error")
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, body, None)


def _first_problem(errors: list[Any]) -> str:
    first = errors[0]
    if isinstance(first, dict) and "message" in first:
        key = first.get("key")
        return f"{key}: {first['message']}" if key else str(first["message"])
    return "Validation failed"


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    AppError: _app_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected_error,
}
