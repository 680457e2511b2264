"""The account life cycle: plain async functions over a database session.

Nothing here reveals whether an email is registered: sign-up and forgotten-password answer the
same either way (the mails differ), and sign-in fails alike for unknown emails and wrong
passwords, in the same time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import emails, sessions, tokens
from backend.accounts.auth import Account
from backend.accounts.models import User
from backend.accounts.passwords import PasswordHasher, password_problem
from backend.accounts.schemas import LoginIn, Me, ProfileIn, SignupIn
from backend.entitlements import premium
from backend.mail import MailOutbox
from backend.settings import Network
from backend.web.errors import AppError, InvalidFieldError, NotAuthenticatedError


class InvalidCredentialsError(AppError):
    status_code = 401
    code = "invalid_credentials"
    doc = "wrong email or password"


class WrongPasswordError(AppError):
    status_code = 403
    code = "wrong_password"
    doc = "the current password is wrong"


class AlreadyVerifiedError(AppError):
    status_code = 409
    code = "already_verified"
    doc = "the email address is confirmed already"


class EmailTakenError(AppError):
    status_code = 409
    code = "email_taken"
    doc = "another account has that email address"


@dataclass(frozen=True, slots=True)
class Accounts:
    """What the account functions need besides the database session."""

    hasher: PasswordHasher
    outbox: MailOutbox
    base_url: str
    trusted_proxies: tuple[Network, ...] = ()


def check_new_password(password: str, field: str = "password") -> None:
    if problem := password_problem(password):
        raise InvalidFieldError(field, problem)


async def live_user(db: AsyncSession, email: str) -> User | None:
    """Seed Query 1: the account using `email`, unless deleted (case-insensitive, citext)."""
    user: User | None = await db.scalar(
        select(User).where(User.email == email, User.deleted_at.is_(None))
    )
    return user


def me_of(account: Account) -> Me:
    """The account as `GET /me` shows it, from what the session lookup found."""
    return _me(account, account.pending_email, premium=account.premium)


async def user_of(db: AsyncSession, account: Account) -> User:
    """The signed-in account's row, to change it (401 when it went meanwhile)."""
    user = await db.get(User, account.id)
    if user is None or user.deleted_at is not None:
        raise NotAuthenticatedError("Sign in to continue")
    return user


async def to_me(db: AsyncSession, user: User, premium_now: bool | None = None) -> Me:
    """The account as `GET /me` shows it (`premium_now`: when the caller knows it already)."""
    pending = await tokens.pending_email(db, user.id, user.email)
    premium_ = await premium.is_premium(db, user.id) if premium_now is None else premium_now
    return _me(user, pending, premium=premium_)


def _me(account: User | Account, pending_email: str | None, *, premium: bool) -> Me:
    return Me(
        id=account.id,
        email=account.email,
        display_name=account.display_name,
        email_verified=account.email_verified,
        pending_email=pending_email,
        created_at=account.created_at,
        premium=premium,
        password_change_required=account.password_change_required,
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
    """The account, once the password matches. A hash of an older scheme or cost is made
    again; a password the current rules refuse is to be replaced (the account page asks)."""
    user = await live_user(db, data.email)
    matches = await hasher.verify(data.password, user.password_hash if user else None)
    if user is None or not matches:
        raise InvalidCredentialsError("Incorrect email or password")
    if hasher.outdated(user.password_hash):
        user.password_hash = await hasher.hash(data.password)
    user.password_change_required = password_problem(data.password) is not None
    await db.flush()
    return user


async def verify_email(db: AsyncSession, token: str, ctx: Accounts, keep: str | None) -> str:
    """Confirm the address the token was sent to (the account's, or a new one); return it.

    A new address replaces the old one, which is told, with a link to undo the change for 7
    days; the account's other sessions end (`keep`: the session that confirmed it), and
    pending resets and email changes stop working.
    """
    used = await tokens.use(db, token, tokens.VERIFY_EMAIL)
    user = await db.get(User, used.user_id)
    if user is None or user.deleted_at is not None:
        raise tokens.InvalidTokenError("This link is invalid, already used or expired")
    if used.email.lower() != user.email.lower():
        taken = await live_user(db, used.email)
        if taken is not None:
            raise EmailTakenError("Another account already uses this email address")
        old = user.email
        user.email = used.email
        await tokens.cancel_takeover_paths(db, user.id, used.email)
        await sessions.end_all(db, user.id, keep=keep)
        undo = await tokens.issue(db, user.id, tokens.UNDO_EMAIL_CHANGE, old, replace=False)
        ctx.outbox.add(emails.email_changed(old, ctx.base_url, used.email, undo))
    user.email_verified = True
    await db.flush()
    return user.email


async def undo_email_change(db: AsyncSession, token: str, ctx: Accounts) -> str:
    """Put the old address back (from the link mailed to it), sign every device out, and mail
    it a link to choose a new password; return the address."""
    used = await tokens.use(db, token, tokens.UNDO_EMAIL_CHANGE)
    user = await db.get(User, used.user_id)
    if user is None or user.deleted_at is not None:
        raise tokens.InvalidTokenError("This link is invalid, already used or expired")
    if used.email.lower() != user.email.lower():
        taken = await live_user(db, used.email)
        if taken is not None and taken.id != user.id:
            raise EmailTakenError("Another account uses this email address now")
        user.email = used.email
    user.email_verified = True
    await tokens.cancel_takeover_paths(db, user.id, used.email)
    await sessions.end_all(db, user.id)
    reset = await tokens.issue(db, user.id, tokens.RESET_PASSWORD, used.email)
    ctx.outbox.add(emails.reset_password(used.email, ctx.base_url, reset))
    await db.flush()
    return used.email


async def resend_verification(db: AsyncSession, user: Account, ctx: Accounts) -> None:
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


async def reset_password(db: AsyncSession, token: str, password: str, ctx: Accounts) -> None:
    check_new_password(password)
    used = await tokens.use(db, token, tokens.RESET_PASSWORD)
    user = await db.get(User, used.user_id)
    if user is None or user.deleted_at is not None:
        raise tokens.InvalidTokenError("This link is invalid, already used or expired")
    await _set_password(db, user, password, ctx, keep=None)
    if used.email.lower() == user.email.lower():
        user.email_verified = True  # opening the link proved the address works
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
            if not isinstance(data.current_password, str):
                raise InvalidFieldError("current_password", "is needed to change the email address")
            await check_password(user, data.current_password, ctx.hasher)
            token = await tokens.issue(db, user.id, tokens.VERIFY_EMAIL, data.email)
            ctx.outbox.add(emails.verify_email(data.email, ctx.base_url, token))
    await db.flush()


async def check_password(
    user: User, password: str, hasher: PasswordHasher, *, what: str = "The current password"
) -> None:
    if not await hasher.verify(password, user.password_hash):
        raise WrongPasswordError(f"{what} is not correct")


async def change_password(
    db: AsyncSession, user: User, current: str, new: str, ctx: Accounts, keep: str | None
) -> None:
    await check_password(user, current, ctx.hasher)
    check_new_password(new, "new_password")
    await _set_password(db, user, new, ctx, keep=keep)
    await db.flush()


async def _set_password(
    db: AsyncSession, user: User, password: str, ctx: Accounts, keep: str | None
) -> None:
    """A new password: the other sessions end, pending resets and email changes stop
    working, and the account's address is told."""
    user.password_hash = await ctx.hasher.hash(password)
    user.password_change_required = False
    await sessions.end_all(db, user.id, keep=keep)
    await tokens.cancel_takeover_paths(db, user.id, user.email)
    ctx.outbox.add(emails.password_changed(user.email, ctx.base_url))
