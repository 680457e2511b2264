"""Changes that ask for the current password (email, password, deletion): the wrong ones
counted per account, and refused once the account's limit is spent (a stolen session guessing
the password)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from backend import ratelimit
from backend.accounts.service import WrongPasswordError
from backend.ratelimit import Limit, RateLimitedError
from backend.web.errors import NotAuthenticatedError
from backend.web.openapi import JSON_BODY

T = TypeVar("T")

# Their failures, for the routes' OpenAPI documentation.
PASSWORD_CHECKED = (*JSON_BODY, NotAuthenticatedError, RateLimitedError, WrongPasswordError)


async def failures_counted(
    engine: AsyncEngine, limit: Limit, key: str, action: Callable[[], Awaitable[T]]
) -> T:
    """`action`, refused once `key` has spent `limit` on wrong passwords; a wrong one counts."""
    await ratelimit.refuse_if_spent(engine, limit, key)
    try:
        return await action()
    except WrongPasswordError:
        await ratelimit.count(engine, limit, key)
        raise
