"""The account life cycle: plain async functions over a database session.

Nothing here reveals whether an email is registered: sign-up and forgotten-password answer the
same either way (the mails differ), and sign-in fails alike for unknown emails and wrong
passwords, in the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import emails, sessions, tokens
from backend.accounts.models import User
from backend.accounts.passwords import PasswordHasher, password_problem
from backend.accounts.schemas import LoginIn, Me, ProfileIn, SignupIn
from backend.billing import premium
from backend.billing.models import PaymentHistory, Subscription
from backend.errors import AppError, InvalidFieldError
from backend.mail import MailOutbox
from sync.tables import calculation_history


class InvalidCredentialsError(AppError):
    status_code = 401
    code = "invalid_credentials"


class WrongPasswordError(AppError):
    status_code = 403
    code = "wrong_password"


class AlreadyVerifiedError(AppError):
    status_code = 409
    code = "already_verified"


class EmailTakenError(AppError):
    status_code = 409
    code = "email_taken"


@dataclass(frozen=True, slots=True)
class Accounts:
    """What the account functions need besides the database session."""

    hasher: PasswordHasher
    outbox: MailOutbox
    base_url: str


def check_new_password(password: str, field: str = "password") -> None:
    if problem := password_problem(password):
        raise InvalidFieldError(field, problem)


async def live_user(db: AsyncSession, email: str) -> User | None:
    """Seed Query 1: the account using `email`, unless deleted (case-insensitive, citext)."""
    user: User | None = await db.scalar(
        select(User).where(User.email == email, User.deleted_at.is_(None))
    )
    return user


async def to_me(db: AsyncSession, user: User) -> Me:
    return Me(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        email_verified=user.email_verified,
        pending_email=await tokens.pending_email(db, user.id, user.email),
        created_at=user.created_at,
        premium=await premium.is_premium(db, user.id),
    )


async def signup(db: AsyncSession, data: SignupIn, ctx: Accounts) -> None:
    check_new_password(data.password)
    password_hash = await ctx.hasher.hash(data.password)  # also when the email is taken: same time
    display_name = (data.display_name or "").strip() or None
    user_id = await db.scalar(
        insert(User)
        .values(email=data.email, password_hash=password_hash, display_name=display_name)
        .on_conflict_do_nothing(index_elements=[User.email], index_where=User.deleted_at.is_(None))
        .returning(User.id)
    )
    if user_id is None:
        ctx.outbox.add(emails.already_registered(data.email, ctx.base_url))
        return
    token = await tokens.issue(db, user_id, tokens.VERIFY_EMAIL, data.email)
    ctx.outbox.add(emails.verify_email(data.email, ctx.base_url, token))


async def login(db: AsyncSession, data: LoginIn, hasher: PasswordHasher) -> User:
    user = await live_user(db, data.email)
    matches = await hasher.verify(data.password, user.password_hash if user else None)
    if user is None or not matches:
        raise InvalidCredentialsError("Incorrect email or password")
    return user


async def verify_email(db: AsyncSession, token: str) -> str:
    """Confirm the address the token was sent to (the account's, or a new one); return it."""
    used = await tokens.use(db, token, tokens.VERIFY_EMAIL)
    user = await db.get(User, used.user_id)
    if user is None or user.deleted_at is not None:
        raise tokens.InvalidTokenError("This link is invalid, already used or expired")
    if used.email.lower() != user.email.lower():
        taken = await live_user(db, used.email)
        if taken is not None:
            raise EmailTakenError("Another account already uses this email address")
        user.email = used.email
    user.email_verified = True
    await db.flush()
    return user.email


async def resend_verification(db: AsyncSession, user: User, ctx: Accounts) -> None:
    target = await tokens.pending_email(db, user.id, user.email)
    if target is None and user.email_verified:
        raise AlreadyVerifiedError("Your email address is already confirmed")
    address = target or user.email
    token = await tokens.issue(db, user.id, tokens.VERIFY_EMAIL, address)
    ctx.outbox.add(emails.verify_email(address, ctx.base_url, token))


async def forgot_password(db: AsyncSession, email: str, ctx: Accounts) -> None:
    user = await live_user(db, email)
    if user is None:
        return
    token = await tokens.issue(db, user.id, tokens.RESET_PASSWORD, user.email)
    ctx.outbox.add(emails.reset_password(user.email, ctx.base_url, token))


async def reset_password(
    db: AsyncSession, token: str, password: str, hasher: PasswordHasher
) -> None:
    check_new_password(password)
    used = await tokens.use(db, token, tokens.RESET_PASSWORD)
    user = await db.get(User, used.user_id)
    if user is None or user.deleted_at is not None:
        raise tokens.InvalidTokenError("This link is invalid, already used or expired")
    user.password_hash = await hasher.hash(password)
    if used.email.lower() == user.email.lower():
        user.email_verified = True  # opening the link proved the address works
    await sessions.end_all(db, user.id)
    await db.flush()


async def update_profile(db: AsyncSession, user: User, data: ProfileIn, ctx: Accounts) -> None:
    if isinstance(data.display_name, str) or data.display_name is None:
        user.display_name = (data.display_name or "").strip() or None
    if isinstance(data.email, str):
        # The address changes once the new one is confirmed from the link sent to it;
        # asking for the current address again cancels a pending change.
        if data.email.lower() == user.email.lower():
            await tokens.cancel(db, user.id, tokens.VERIFY_EMAIL)
        else:
            token = await tokens.issue(db, user.id, tokens.VERIFY_EMAIL, data.email)
            ctx.outbox.add(emails.verify_email(data.email, ctx.base_url, token))
    await db.flush()


async def change_password(
    db: AsyncSession, user: User, current: str, new: str, hasher: PasswordHasher, keep: str | None
) -> None:
    if not await hasher.verify(current, user.password_hash):
        raise WrongPasswordError("The current password is not correct")
    check_new_password(new, "new_password")
    user.password_hash = await hasher.hash(new)
    await sessions.end_all(db, user.id, keep=keep)
    await db.flush()


async def delete_account(
    db: AsyncSession, user: User, password: str, hasher: PasswordHasher
) -> None:
    """Soft delete (seed 3.2): hidden at once, hard-deleted after 30 days by retention."""
    if not await hasher.verify(password, user.password_hash):
        raise WrongPasswordError("The password is not correct")
    await soft_delete(db, user)


async def soft_delete(db: AsyncSession, user: User) -> None:
    """Hide the account at once and end its sessions (also the operator's `users delete`)."""
    user.deleted_at = datetime.now(UTC)
    await sessions.end_all(db, user.id)
    await db.flush()


async def export(db: AsyncSession, user: User) -> dict[str, Any]:
    """Everything we hold about the user (GDPR right of access, seed 6.3)."""
    subscription = await db.scalar(select(Subscription).where(Subscription.user_id == user.id))
    payments = (
        []
        if subscription is None
        else (
            await db.scalars(
                select(PaymentHistory)
                .where(PaymentHistory.subscription_id == subscription.id)
                .order_by(PaymentHistory.created_at.desc())
            )
        ).all()
    )
    history = calculation_history.c
    calculations = (
        await db.execute(
            select(
                history.expression,
                history.result,
                history.metadata,
                history.created_at,
                history.received_at,
                history.device_id,
                history.seq,
                history.deleted_at,
            )
            .where(history.user_id == user.id)
            .order_by(history.created_at.desc())
        )
    ).mappings()
    return {
        "exported_at": await db.scalar(select(func.now())),
        "account": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "email_verified": user.email_verified,
            "created_at": user.created_at,
            "updated_at": user.updated_at,
        },
        "subscription": None
        if subscription is None
        else {
            "status": subscription.status,
            "price_per_month": subscription.price_per_month,
            "current_period_start": subscription.current_period_start,
            "current_period_end": subscription.current_period_end,
            "canceled_at": subscription.canceled_at,
            "created_at": subscription.created_at,
        },
        "payments": [
            {
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "created_at": p.created_at,
                "receipt_url": (p.metadata_ or {}).get("receipt_url"),
            }
            for p in payments
        ],
        "calculations": [dict(row) for row in calculations],
    }
