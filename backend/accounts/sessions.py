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
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import UserSession

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
