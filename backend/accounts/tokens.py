"""Single-use links mailed to users: email verification (24 h), password reset (1 h), and
the undo of an email change, mailed to the old address (7 days).

Only the SHA-256 of a token is stored; using one is a single UPDATE, so it works once even
when two requests race for it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Literal

from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import EmailToken
from backend.web.errors import AppError

Purpose = Literal["verify_email", "reset_password", "undo_email_change"]
VERIFY_EMAIL: Purpose = "verify_email"
RESET_PASSWORD: Purpose = "reset_password"  # noqa: S105 - a purpose, not a password
UNDO_EMAIL_CHANGE: Purpose = "undo_email_change"
LIFETIMES: dict[Purpose, timedelta] = {
    VERIFY_EMAIL: timedelta(hours=24),
    RESET_PASSWORD: timedelta(hours=1),
    UNDO_EMAIL_CHANGE: timedelta(days=7),
}


class InvalidTokenError(AppError):
    code = "invalid_token"
    doc = "the link's token is unknown, used or expired"


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def cancel(db: AsyncSession, user_id: uuid.UUID, purpose: Purpose) -> None:
    """The user's unused tokens for `purpose` stop working."""
    await db.execute(
        update(EmailToken)
        .where(
            EmailToken.user_id == user_id,
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
        )
        .values(used_at=func.now())
    )


async def cancel_takeover_paths(db: AsyncSession, user_id: uuid.UUID, current: str) -> None:
    """The links that could take the account over stop working: password resets, and email
    changes (confirmations of an address other than `current`). After a password reset, a
    password change or a confirmed email change. Undo links stay: they protect the owner."""
    await cancel(db, user_id, RESET_PASSWORD)
    await db.execute(
        update(EmailToken)
        .where(
            EmailToken.user_id == user_id,
            EmailToken.purpose == VERIFY_EMAIL,
            EmailToken.used_at.is_(None),
            EmailToken.email != current,
        )
        .values(used_at=func.now())
    )


async def issue(
    db: AsyncSession, user_id: uuid.UUID, purpose: Purpose, email: str, *, replace: bool = True
) -> str:
    """A new token for `purpose`; the user's earlier unused ones of that purpose stop working,
    unless `replace` is False (undo links: each change keeps its own)."""
    if replace:
        await cancel(db, user_id, purpose)
    token = secrets.token_urlsafe(32)
    db.add(
        EmailToken(
            token_hash=digest(token),
            user_id=user_id,
            purpose=purpose,
            email=email,
            expires_at=func.now() + LIFETIMES[purpose],
        )
    )
    await db.flush()
    return token


async def use(db: AsyncSession, token: str, purpose: Purpose) -> EmailToken:
    """Mark the token used and return it; unknown, used and expired tokens all fail alike."""
    used: EmailToken | None = await db.scalar(
        update(EmailToken)
        .where(
            EmailToken.token_hash == digest(token),
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(EmailToken)
    )
    if used is None:
        raise InvalidTokenError("This link is invalid, already used or expired: ask for a new one")
    return used


# Built once: `GET /me` runs it on every call.
PENDING_EMAIL = text(
    """
    SELECT email FROM email_tokens
    WHERE user_id = :user_id AND purpose = 'verify_email' AND used_at IS NULL
      AND expires_at > now() AND email <> :current
    ORDER BY created_at DESC
    LIMIT 1
    """
)


async def pending_email(db: AsyncSession, user_id: uuid.UUID, current: str) -> str | None:
    """A new address waiting for confirmation (an email change), if any."""
    email: str | None = await db.scalar(PENDING_EMAIL, {"user_id": user_id, "current": current})
    return email
