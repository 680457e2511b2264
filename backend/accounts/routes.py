"""HTTP handlers of the accounts API (docs/api.md): thin wrappers over `service`.

Over 400 lines because the API has seventeen routes, most of them a few lines each, with their
OpenAPI failure lists and the rate limits they count; the logic is in `service`."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar import HttpMethod, Request, Response, Router, delete, get, patch, post, route
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend import ratelimit
from backend.accounts import agents, service, sessions
from backend.accounts.auth import Account, requires_user
from backend.accounts.password_checks import PASSWORD_CHECKED, failures_counted
from backend.accounts.passwords import PasswordHasher
from backend.accounts.schemas import (
    EmailConfirmed,
    EmailIn,
    LoginIn,
    Me,
    Message,
    PasswordChangeIn,
    ProfileIn,
    ResetPasswordIn,
    SessionOut,
    Sessions,
    SessionState,
    SignupIn,
    TokenIn,
)
from backend.accounts.tokens import InvalidTokenError
from backend.mail import Mailer, MailOutbox, deliver
from backend.ratelimit import Limit, RateLimitedError
from backend.settings import Settings
from backend.web.clients import client_address
from backend.web.deps import Provided
from backend.web.errors import AppError, CsrfFailedError, NotAuthenticatedError, NotFoundError
from backend.web.openapi import JSON_BODY, failures, no_content

# Sign-in counts every attempt per address, and failures per account: per account and client
# (10), and for the account from anywhere (20), which refuses only clients that failed
# themselves, so a flood of wrong passwords never locks the owner out of a client that has
# not failed.
LOGIN_PER_ADDRESS = Limit("login:address", 100, timedelta(minutes=15))
LOGIN_FAILURES_HERE = Limit("login-failures:account-client", 10, timedelta(minutes=15))
LOGIN_FAILURES = Limit("login-failures:account", 20, timedelta(minutes=15))
FORGOT_PER_ACCOUNT = Limit("forgot:account", 5, timedelta(hours=1))
FORGOT_PER_ADDRESS = Limit("forgot:address", 20, timedelta(hours=1))
SIGNUP_PER_ADDRESS = Limit("signup:address", 20, timedelta(hours=1))
RESEND_PER_ACCOUNT = Limit("resend-verification:account", 5, timedelta(hours=1))
# Wrong current passwords of a signed-in session (a stolen session guessing the password).
EMAIL_CHANGE_FAILURES = Limit("email-change-failures:account", 5, timedelta(minutes=15))
PASSWORD_CHANGE_FAILURES = Limit("password-change-failures:account", 5, timedelta(minutes=15))

SIGNUP_ANSWER = "Check your inbox: we sent a message to confirm the address."
FORGOT_ANSWER = "If an account uses this address, we sent it a link to choose a new password."

AnyRequest = Request[Any, Any, Any]


class CurrentSessionError(AppError):
    status_code = 409
    code = "current_session"
    doc = "this device's own session (sign out instead)"


def with_mail(content: Any, status_code: int, outbox: MailOutbox, mailer: Mailer) -> Response[Any]:
    """The response, sending the outbox's mail after it (so only once the transaction committed)."""
    background = BackgroundTask(deliver, mailer, list(outbox.messages)) if outbox.messages else None
    return Response(content, status_code=status_code, background=background)


def accounts_context(
    hasher: Provided[PasswordHasher], settings: Provided[Settings]
) -> service.Accounts:
    return service.Accounts(
        hasher=hasher,
        outbox=MailOutbox(),
        base_url=settings.base_url,
        trusted_proxies=settings.trusted_proxies,
    )


@get("/auth/csrf", status_code=HTTP_204_NO_CONTENT, summary="Set the CSRF cookie")
async def csrf() -> None:
    """Any GET sets the `csrftoken` cookie when missing; this one does nothing else."""


@post(
    "/auth/signup",
    status_code=HTTP_202_ACCEPTED,
    summary="Create an account",
    responses=failures(*JSON_BODY, RateLimitedError),
)
async def signup(
    data: JSONBody[SignupIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[Message]:
    address = client_address(request, accounts.trusted_proxies)
    await ratelimit.check(engine, SIGNUP_PER_ADDRESS, address)
    await service.signup(db_session, data, accounts)
    return with_mail(Message(SIGNUP_ANSWER), HTTP_202_ACCEPTED, accounts.outbox, mailer)


@post(
    "/auth/login",
    status_code=HTTP_200_OK,
    summary="Sign in",
    responses=failures(*JSON_BODY, RateLimitedError, service.InvalidCredentialsError),
)
async def login(
    data: JSONBody[LoginIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    hasher: Provided[PasswordHasher],
    settings: Provided[Settings],
) -> Response[Me]:
    client = client_address(request, settings.trusted_proxies)
    account = data.email.lower()
    here = f"{account}|{client}"
    await ratelimit.check(engine, LOGIN_PER_ADDRESS, client)
    await ratelimit.refuse_if_spent(engine, LOGIN_FAILURES_HERE, here)
    if await ratelimit.spent(engine, LOGIN_FAILURES_HERE, here):
        await ratelimit.refuse_if_spent(engine, LOGIN_FAILURES, account)
    try:
        user = await service.login(db_session, data, hasher)
    except service.InvalidCredentialsError:
        await ratelimit.count(engine, LOGIN_FAILURES_HERE, here)
        await ratelimit.count(engine, LOGIN_FAILURES, account)
        raise
    secure = settings.is_production
    if earlier := sessions.token_of(request, secure=secure):
        await sessions.end(db_session, earlier)  # no session survives a sign-in over it
    token = await sessions.start(db_session, user.id, request.headers.get("user-agent"))
    me = await service.to_me(db_session, user)
    return Response(me, cookies=[sessions.cookie(token, secure=secure)])


@post(
    "/auth/logout",
    status_code=HTTP_204_NO_CONTENT,
    summary="Sign out",
    responses=failures(CsrfFailedError)
    | no_content("Signed out: the session ended, its cookie cleared"),
)
async def logout(
    request: AnyRequest, db_session: Provided[AsyncSession], settings: Provided[Settings]
) -> Response[None]:
    if token := sessions.token_of(request, secure=settings.is_production):
        await sessions.end(db_session, token)
    return Response(
        None,
        status_code=HTTP_204_NO_CONTENT,
        cookies=[sessions.expired_cookie(secure=settings.is_production)],
    )


@post(
    "/auth/verify-email",
    status_code=HTTP_200_OK,
    summary="Confirm an email address from the mailed link",
    responses=failures(*JSON_BODY, InvalidTokenError, service.EmailTakenError),
)
async def verify_email(
    data: JSONBody[TokenIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
    settings: Provided[Settings],
) -> Response[EmailConfirmed]:
    keep = sessions.token_of(request, secure=settings.is_production)
    email = await service.verify_email(db_session, data.token, accounts, keep)
    answer = EmailConfirmed(detail="Your email address is confirmed.", email=email)
    return with_mail(answer, HTTP_200_OK, accounts.outbox, mailer)


@post(
    "/auth/undo-email-change",
    status_code=HTTP_200_OK,
    summary="Put the old email address back (the link mailed to it when the email changed)",
    responses=failures(*JSON_BODY, InvalidTokenError, service.EmailTakenError),
)
async def undo_email_change(
    data: JSONBody[TokenIn],
    db_session: Provided[AsyncSession],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[EmailConfirmed]:
    email = await service.undo_email_change(db_session, data.token, accounts)
    answer = EmailConfirmed(
        detail="Your email address is back, and every device was signed out. We sent it a "
        "link to choose a new password.",
        email=email,
    )
    return with_mail(answer, HTTP_200_OK, accounts.outbox, mailer)


@post(
    "/auth/resend-verification",
    status_code=HTTP_202_ACCEPTED,
    summary="Mail the confirmation link again",
    responses=failures(
        NotAuthenticatedError, CsrfFailedError, RateLimitedError, service.AlreadyVerifiedError
    ),
)
async def resend_verification(
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    account: Provided[Account],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[Message]:
    await ratelimit.check(engine, RESEND_PER_ACCOUNT, str(account.id))
    await service.resend_verification(db_session, account, accounts)
    answer = Message("We sent the confirmation link again.")
    return with_mail(answer, HTTP_202_ACCEPTED, accounts.outbox, mailer)


@post(
    "/auth/forgot-password",
    status_code=HTTP_202_ACCEPTED,
    summary="Mail a reset link",
    responses=failures(*JSON_BODY, RateLimitedError),
)
async def forgot_password(
    data: JSONBody[EmailIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[Message]:
    address = client_address(request, accounts.trusted_proxies)
    await ratelimit.check(engine, FORGOT_PER_ADDRESS, address)
    await ratelimit.check(engine, FORGOT_PER_ACCOUNT, data.email.lower())
    await service.forgot_password(db_session, data.email, accounts)
    return with_mail(Message(FORGOT_ANSWER), HTTP_202_ACCEPTED, accounts.outbox, mailer)


@post(
    "/auth/reset-password",
    status_code=HTTP_204_NO_CONTENT,
    summary="Choose a new password",
    responses=failures(*JSON_BODY, InvalidTokenError),
)
async def reset_password(
    data: JSONBody[ResetPasswordIn],
    db_session: Provided[AsyncSession],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[None]:
    await service.reset_password(db_session, data.token, data.password, accounts)
    return with_mail(None, HTTP_204_NO_CONTENT, accounts.outbox, mailer)


@get("/auth/session", summary="Who is signed in: the account, or null (200 either way)")
async def session_state(request: Request[Account | None, Any, Any]) -> SessionState:
    """What a page asks first: being signed out is an answer here, not a 401 failure."""
    account = request.user
    return SessionState(account=None if account is None else service.me_of(account))


@get("/me", summary="The signed-in account", responses=failures(NotAuthenticatedError))
async def me(account: Provided[Account]) -> Me:
    return service.me_of(account)


@patch(
    "/me",
    summary="Change the display name or the email address (with the current password)",
    responses=failures(*PASSWORD_CHECKED),
)
async def update_me(
    data: JSONBody[ProfileIn],
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    account: Provided[Account],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[Me]:
    user = await service.user_of(db_session, account)
    if isinstance(data.email, str):  # the current password is asked for, and guessed at
        await failures_counted(
            engine,
            EMAIL_CHANGE_FAILURES,
            str(user.id),
            lambda: service.update_profile(db_session, user, data, accounts),
        )
    else:
        await service.update_profile(db_session, user, data, accounts)
    updated = await service.to_me(db_session, user, account.premium)
    return with_mail(updated, HTTP_200_OK, accounts.outbox, mailer)


@post(
    "/me/password",
    status_code=HTTP_204_NO_CONTENT,
    summary="Change the password",
    responses=failures(*PASSWORD_CHECKED),
)
async def change_password(
    data: JSONBody[PasswordChangeIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    account: Provided[Account],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
    settings: Provided[Settings],
) -> Response[None]:
    user = await service.user_of(db_session, account)
    keep = sessions.token_of(request, secure=settings.is_production)
    await failures_counted(
        engine,
        PASSWORD_CHANGE_FAILURES,
        str(user.id),
        lambda: service.change_password(
            db_session, user, data.current_password, data.new_password, accounts, keep
        ),
    )
    return with_mail(None, HTTP_204_NO_CONTENT, accounts.outbox, mailer)


@get(
    "/me/sessions",
    summary="The account's signed-in devices",
    responses=failures(NotAuthenticatedError),
)
async def list_sessions(db_session: Provided[AsyncSession], account: Provided[Account]) -> Sessions:
    return Sessions(
        items=[
            SessionOut(
                id=found.id,
                device=agents.describe(found.user_agent),
                created_at=found.created_at,
                last_used_at=found.last_used_at,
                current=found.id == account.session_id,
            )
            for found in await sessions.live_sessions(db_session, account.id)
        ]
    )


@delete(
    "/me/sessions/{session_id:uuid}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Sign out another device",
    responses=failures(NotAuthenticatedError, CsrfFailedError, NotFoundError, CurrentSessionError)
    | no_content("That device is signed out"),
)
async def end_session(
    session_id: FromPath[uuid.UUID], db_session: Provided[AsyncSession], account: Provided[Account]
) -> None:
    if session_id == account.session_id:
        raise CurrentSessionError("This is the session of this device: sign out instead")
    if not await sessions.end_by_id(db_session, account.id, session_id):
        raise NotFoundError("No such session")


@post(
    "/me/sessions/sign-out-others",
    status_code=HTTP_204_NO_CONTENT,
    summary="Sign out every other device",
    responses=failures(NotAuthenticatedError, CsrfFailedError)
    | no_content("Every other device is signed out"),
)
async def end_other_sessions(
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    account: Provided[Account],
    settings: Provided[Settings],
) -> None:
    keep = sessions.token_of(request, secure=settings.is_production)
    await sessions.end_all(db_session, account.id, keep=keep)


# Litestar answers OPTIONS with the methods of the first handler registered on a path only
# (`Allow: GET, OPTIONS` for /me), so /me answers it itself: its GET and PATCH here, its
# DELETE in `backend.privacy` (tests/fuzz/test_hostile_input.py holds this to the document).
ME_ALLOW = "DELETE, GET, OPTIONS, PATCH"


@route(
    "/me", http_method=HttpMethod.OPTIONS, status_code=HTTP_204_NO_CONTENT, include_in_schema=False
)
async def me_options() -> Response[None]:
    return Response(None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": ME_ALLOW})


def router() -> Router:
    signed_in = Router(
        path="/",
        guards=[requires_user],
        route_handlers=[
            resend_verification,
            me,
            update_me,
            change_password,
            list_sessions,
            end_session,
            end_other_sessions,
        ],
    )
    return Router(
        path="/",
        route_handlers=[
            me_options,  # before the other /me handlers: Litestar then adds no OPTIONS of its own
            csrf,
            signup,
            login,
            logout,
            verify_email,
            forgot_password,
            reset_password,
            undo_email_change,
            session_state,
            signed_in,
        ],
        dependencies={
            "accounts": Provide(accounts_context, sync_to_thread=False),
        },
        tags=["accounts"],
    )
