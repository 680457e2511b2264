"""Server-side sessions: a random token in an HttpOnly cookie, its SHA-256 in PostgreSQL."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User, UserSession
from backend.deps import Provided
from backend.errors import NotAuthenticatedError

COOKIE = "calcapp_session"
LIFETIME = timedelta(days=30)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def cookie(token: str, *, secure: bool) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=token,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        secure=secure,
        samesite="lax",
    )


def expired_cookie(*, secure: bool) -> Cookie:
    return Cookie(
        key=COOKIE, value="", max_age=0, path="/", httponly=True, secure=secure, samesite="lax"
    )


async def start(db: AsyncSession, user_id: uuid.UUID, user_agent: str | None) -> str:
    token = secrets.token_urlsafe(32)
    db.add(
        UserSession(
            token_hash=_digest(token),
            user_id=user_id,
            expires_at=func.now() + LIFETIME,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    await db.flush()
    return token


async def user_for(db: AsyncSession, token: str) -> User | None:
    user: User | None = await db.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == _digest(token),
            UserSession.expires_at > func.now(),
            User.deleted_at.is_(None),
        )
    )
    return user


async def end(db: AsyncSession, token: str) -> None:
    await db.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))


async def end_all(db: AsyncSession, user_id: uuid.UUID, *, keep: str | None = None) -> None:
    """End every session of the user, except the one whose token is `keep`."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(UserSession.token_hash != _digest(keep))
    await db.execute(statement)


def token_of(request: Request[Any, Any, Any]) -> str | None:
    return request.cookies.get(COOKIE) or None


async def provide_viewer(
    request: Request[Any, Any, Any], db_session: Provided[AsyncSession]
) -> User | None:
    """The signed-in user of this request, or None.

    Never raises: a dependency that raises after the session dependency has started would
    leave that session unclosed (Litestar cleans dependencies up only once all resolved), so
    handlers call `signed_in` instead.
    """
    token = token_of(request)
    return await user_for(db_session, token) if token else None


def signed_in(viewer: User | None) -> User:
    """The viewer, or 401 `not_authenticated`."""
    if viewer is None:
        raise NotAuthenticatedError("Sign in to continue")
    return viewer
