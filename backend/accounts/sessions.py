"""Server-side sessions: a random token in an HttpOnly cookie, its SHA-256 in PostgreSQL."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from sqlalchemy import bindparam, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User, UserSession
from backend.billing.models import Subscription
from backend.billing.premium import premium_condition
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


# Built once: this runs on every signed-in request. Whether the account is premium comes in
# the same round trip.
USER_FOR_TOKEN = (
    select(
        User,
        exists()
        .where(Subscription.user_id == User.id, premium_condition())
        .correlate(User)
        .label("premium"),
    )
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.expires_at > func.now(),
        User.deleted_at.is_(None),
    )
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who sent the request: a signed-in user (and whether premium), or nobody."""

    user: User | None = None
    premium: bool = False


async def viewer_for(db: AsyncSession, token: str) -> Viewer:
    row = (await db.execute(USER_FOR_TOKEN, {"token_hash": _digest(token)})).one_or_none()
    return Viewer() if row is None else Viewer(user=row[0], premium=bool(row[1]))


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
) -> Viewer:
    """Who sent this request.

    Never raises: a dependency that raises after the session dependency has started would
    leave that session unclosed (Litestar cleans dependencies up only once all resolved), so
    handlers call `signed_in` instead.
    """
    token = token_of(request)
    return await viewer_for(db_session, token) if token else Viewer()


def signed_in(viewer: Viewer) -> User:
    """The signed-in user, or 401 `not_authenticated`."""
    if viewer.user is None:
        raise NotAuthenticatedError("Sign in to continue")
    return viewer.user
