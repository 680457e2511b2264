"""The API's failure documentation comes from the error classes (`backend.web.openapi`)."""

import backend.app  # noqa: F401  (every route module, and so every error class)
from backend.accounts.service import WrongPasswordError
from backend.ratelimit import RateLimitedError
from backend.web.errors import AppError, CsrfFailedError, NotAuthenticatedError
from backend.web.openapi import failures


def _subclasses(cls: type[AppError]) -> set[type[AppError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_with_a_code_of_its_own_says_when_it_happens() -> None:
    coded = [
        error
        for error in _subclasses(AppError)
        if error.__module__.startswith("backend.") and "code" in vars(error)
    ]
    assert len(coded) > 20
    assert [error.__qualname__ for error in coded if "doc" not in vars(error)] == []
    assert len({error.code for error in coded}) == len(coded), "two error classes share a code"


def test_failures_lists_each_code_under_its_status() -> None:
    described = {
        status: spec.description
        for status, spec in failures(
            NotAuthenticatedError, CsrfFailedError, WrongPasswordError, RateLimitedError
        ).items()
    }
    assert described == {
        401: "`not_authenticated`: sign in first",
        403: "`csrf_failed`: the `x-csrftoken` header is missing or differs from the "
        "`csrftoken` cookie; `wrong_password`: the current password is wrong",
        429: "`rate_limited`: too many attempts; `Retry-After` says in how many seconds to try "
        "again",
        503: "`database_unavailable`: the database is out of reach; try again after "
        "`Retry-After` seconds",
    }
