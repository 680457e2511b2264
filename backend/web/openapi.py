"""What the OpenAPI document (`/api/schema/openapi.json`) says about failures.

Every 4xx/5xx answer is `{"detail", "code"}` (`backend.web.errors`); a 422 adds `errors`, the
fields at fault. Each route lists the error classes it can answer with
`responses=failures(...)`, which documents their codes and `doc`s by status, so that the
document is true: `tests/fuzz` checks every answer of every operation against it.
"""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from backend.web.errors import (
    AppError,
    BadRequestError,
    CsrfFailedError,
    DatabaseUnavailableError,
    InvalidFieldError,
    RequestTooLargeError,
)


class ErrorBody(msgspec.Struct, frozen=True):
    """Every 4xx/5xx answer."""

    detail: str
    """A sentence for people."""
    code: str
    """Stable, for programs: `not_authenticated`, `rate_limited`..."""


class FieldProblem(msgspec.Struct, frozen=True):
    message: str
    key: str | None = None
    """The field at fault (`limit`, `email`...), when there is one."""
    source: str | None = None
    """Where it was: `body`, `query`..."""


class ValidationErrorBody(msgspec.Struct, frozen=True):
    """A 422: the request is not what the operation takes."""

    detail: str
    code: str
    """`validation_error`"""
    errors: list[FieldProblem]


# The failures of every route that takes a JSON body with an unsafe method (POST, PATCH,
# DELETE): not JSON, CSRF refused, too large, not the right shape.
JSON_BODY: tuple[type[AppError], ...] = (
    BadRequestError,
    CsrfFailedError,
    RequestTooLargeError,
    InvalidFieldError,
)


def failures(*errors: type[AppError]) -> dict[int, ResponseSpec]:
    """The `responses=` of a route that can fail with `errors`: by status, each error's code
    and when it happens, from the error classes themselves. 503 `database_unavailable` is
    always there: every route depends on the database.
    """
    described: dict[int, list[str]] = {}
    documented: tuple[type[AppError], ...] = (*errors, DatabaseUnavailableError)
    for error in documented:
        line = f"`{error.code}`: {error.doc}"
        if line not in described.setdefault(error.status_code, []):
            described[error.status_code].append(line)
    return {
        status: ResponseSpec(
            data_container=ValidationErrorBody if status == 422 else ErrorBody,
            description="; ".join(described[status]),
            generate_examples=False,
        )
        for status in sorted(described)
    }


def no_content(description: str) -> dict[int, ResponseSpec]:
    """A 204 documented without a body (Litestar gives `Response[None]` a JSON `null` one)."""
    return {204: ResponseSpec(data_container=None, description=description)}
