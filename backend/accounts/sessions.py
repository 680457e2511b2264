"""Server-side sessions: a random token in an HttpOnly cookie, its SHA-256 in PostgreSQL.

A session ends 30 days after sign-in, after 7 days without use, at sign-out, and when the
password changes or is reset (the others), the email change is confirmed (the others) or the
account is deleted. In production the cookie is `__Host-calcapp_session` (Secure, Path=/, no
Domain: no subdomain can set or read it).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User, UserSession
from backend.billing.models import Subscription
from backend.billing.premium import premium_condition
from backend.deps import Provided
from backend.errors import NotAuthenticatedError
from backend.settings import Settings

COOKIE = "calcapp_session"
SECURE_COOKIE = "__Host-calcapp_session"
LIFETIME = timedelta(days=30)
IDLE = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=5)
"""How stale `last_used_at` may get before a request writes it (not a write per request)."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def cookie_name(*, secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def cookie(token: str, *, secure: bool) -> Cookie:
    return Cookie(
        key=cookie_name(secure=secure),
        value=token,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        secure=secure,
        samesite="lax",
    )


def expired_cookie(*, secure: bool) -> Cookie:
    return Cookie(
        key=cookie_name(secure=secure),
        value="",
        max_age=0,
        path="/",
        httponly=True,
        secure=secure,
        samesite="lax",
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
        UserSession.id.label("session_id"),
        (UserSession.last_used_at < func.now() - TOUCH_EVERY).label("stale"),
    )
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.expires_at > func.now(),
        UserSession.last_used_at > func.now() - IDLE,
        User.deleted_at.is_(None),
    )
)
TOUCH = (
    update(UserSession)
    .where(UserSession.token_hash == bindparam("hash"))
    .values(last_used_at=func.now())
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who sent the request: a signed-in user (and whether premium), or nobody."""

    user: User | None = None
    premium: bool = False
    session_id: uuid.UUID | None = None


async def viewer_for(db: AsyncSession, token: str) -> Viewer:
    digest = _digest(token)
    row = (await db.execute(USER_FOR_TOKEN, {"token_hash": digest})).one_or_none()
    if row is None:
        return Viewer()
    if row.stale:
        await db.execute(TOUCH, {"hash": digest})
    return Viewer(user=row[0], premium=bool(row.premium), session_id=row.session_id)


async def live_sessions(db: AsyncSession, user_id: uuid.UUID) -> list[UserSession]:
    """The user's sessions that still work, most recently used first."""
    rows = await db.scalars(
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.expires_at > func.now(),
            UserSession.last_used_at > func.now() - IDLE,
        )
        .order_by(UserSession.last_used_at.desc(), UserSession.created_at.desc())
    )
    return list(rows)


async def end_by_id(db: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """End one of the user's sessions; False when the user has no such session."""
    gone = await db.execute(
        delete(UserSession)
        .where(UserSession.user_id == user_id, UserSession.id == session_id)
        .returning(UserSession.id)
    )
    return gone.first() is not None


async def end(db: AsyncSession, token: str) -> None:
    await db.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))


async def end_all(db: AsyncSession, user_id: uuid.UUID, *, keep: str | None = None) -> None:
    """End every session of the user, except the one whose token is `keep`."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(UserSession.token_hash != _digest(keep))
    await db.execute(statement)


def token_of(request: Request[Any, Any, Any], *, secure: bool) -> str | None:
    return request.cookies.get(cookie_name(secure=secure)) or None


async def provide_viewer(
    request: Request[Any, Any, Any], db_session: Provided[AsyncSession]
) -> Viewer:
    """Who sent this request.

    Never raises: a dependency that raises after the session dependency has started would
    leave that session unclosed (Litestar cleans dependencies up only once all resolved), so
    handlers call `signed_in` instead.
    """
    # The settings from the app's state, not injected: a dependency less to resolve on every
    # signed-in request (Litestar resolves sibling dependencies in a task group).
    settings: Settings = request.app.state.settings
    token = token_of(request, secure=settings.is_production)
    return await viewer_for(db_session, token) if token else Viewer()


def signed_in(viewer: Viewer) -> User:
    """The signed-in user, or 401 `not_authenticated`."""
    if viewer.user is None:
        raise NotAuthenticatedError("Sign in to continue")
    return viewer.user
