"""What the OpenAPI document (`/api/schema/openapi.json`) says about failures.

Every 4xx/5xx answer is `{"detail", "code"}` (`backend.web.errors`); a 422 adds `errors`, the
fields at fault. Each route lists the failures it can answer with `responses=failures(...)`,
so that the document is true: `tests/fuzz` checks every answer of every operation against it.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from litestar.openapi.datastructures import ResponseSpec


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


# What each status means wherever a route answers it (`failures(status)`).
DESCRIPTIONS: dict[int, str] = {
    400: "`bad_request`: the body is not valid JSON",
    401: "`not_authenticated`: sign in first",
    403: "`csrf_failed`: the `x-csrftoken` header is missing or differs from the `csrftoken` "
    "cookie",
    413: "`request_too_large`: the body is over the size limit",
    422: "`validation_error`: the body or a parameter is not what the operation takes "
    "(`errors` names the fields)",
    429: "`rate_limited`: too many attempts; `Retry-After` says in how many seconds to try again",
    503: "`database_unavailable`: the database is out of reach; try again after `Retry-After` "
    "seconds",
}

# The failures of every route that takes a JSON body with an unsafe method (POST, PATCH,
# DELETE): not JSON, CSRF refused, too large, not the right shape.
JSON_BODY = (400, 403, 413, 422)


def failures(*statuses: int, codes: Mapping[int, str] | None = None) -> dict[int, ResponseSpec]:
    """The `responses=` of a route: `statuses` as `DESCRIPTIONS` has them, and `codes`, the
    route's own codes by status (added to the general meaning when both apply). 503
    `database_unavailable` is always there: every route depends on the database.
    """
    described: dict[int, list[str]] = {503: [DESCRIPTIONS[503]]}
    for status in statuses:
        described.setdefault(status, [DESCRIPTIONS[status]])
    for status, text in (codes or {}).items():
        described.setdefault(status, []).append(text)
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
