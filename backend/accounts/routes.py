"""HTTP handlers of the accounts API (docs/api.md): thin wrappers over `service`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import HttpMethod, Request, Response, Router, delete, get, patch, post, route
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend import ratelimit
from backend.accounts import service, sessions
from backend.accounts.passwords import PasswordHasher
from backend.accounts.schemas import (
    EmailConfirmed,
    EmailIn,
    LoginIn,
    Me,
    Message,
    PasswordChangeIn,
    PasswordIn,
    ProfileIn,
    ResetPasswordIn,
    SignupIn,
    TokenIn,
)
from backend.accounts.sessions import Viewer, signed_in
from backend.billing import service as billing_service
from backend.billing.gateway import StripeGateway
from backend.deps import Provided
from backend.mail import Mailer, MailOutbox, deliver
from backend.openapi import JSON_BODY, failures, no_content
from backend.ratelimit import Limit
from backend.settings import Settings

LOGIN_PER_ACCOUNT = Limit("login:account", 10, timedelta(minutes=15))
LOGIN_PER_ADDRESS = Limit("login:address", 100, timedelta(minutes=15))
FORGOT_PER_ACCOUNT = Limit("forgot:account", 5, timedelta(hours=1))
FORGOT_PER_ADDRESS = Limit("forgot:address", 20, timedelta(hours=1))
SIGNUP_PER_ADDRESS = Limit("signup:address", 20, timedelta(hours=1))

SIGNUP_ANSWER = "Check your inbox: we sent a message to confirm the address."
FORGOT_ANSWER = "If an account uses this address, we sent it a link to choose a new password."

AnyRequest = Request[Any, Any, Any]


def client_address(request: AnyRequest) -> str:
    return request.client.host if request.client else "unknown"


def with_mail(content: Any, status_code: int, outbox: MailOutbox, mailer: Mailer) -> Response[Any]:
    """The response, sending the outbox's mail after it (so only once the transaction committed)."""
    background = BackgroundTask(deliver, mailer, list(outbox.messages)) if outbox.messages else None
    return Response(content, status_code=status_code, background=background)


def accounts_context(
    hasher: Provided[PasswordHasher], settings: Provided[Settings]
) -> service.Accounts:
    return service.Accounts(hasher=hasher, outbox=MailOutbox(), base_url=settings.base_url)


@get("/auth/csrf", status_code=HTTP_204_NO_CONTENT, summary="Set the CSRF cookie")
async def csrf() -> None:
    """Any GET sets the `csrftoken` cookie when missing; this one does nothing else."""


@post(
    "/auth/signup",
    status_code=HTTP_202_ACCEPTED,
    summary="Create an account",
    responses=failures(*JSON_BODY, 429),
)
async def signup(
    data: JSONBody[SignupIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[Message]:
    await ratelimit.check(engine, SIGNUP_PER_ADDRESS, client_address(request))
    await service.signup(db_session, data, accounts)
    return with_mail(Message(SIGNUP_ANSWER), HTTP_202_ACCEPTED, accounts.outbox, mailer)


@post(
    "/auth/login",
    status_code=HTTP_200_OK,
    summary="Sign in",
    responses=failures(
        *JSON_BODY, 429, codes={401: "`invalid_credentials`: wrong email or password"}
    ),
)
async def login(
    data: JSONBody[LoginIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    hasher: Provided[PasswordHasher],
    settings: Provided[Settings],
) -> Response[Me]:
    await ratelimit.check(engine, LOGIN_PER_ADDRESS, client_address(request))
    await ratelimit.check(engine, LOGIN_PER_ACCOUNT, data.email.lower())
    user = await service.login(db_session, data, hasher)
    token = await sessions.start(db_session, user.id, request.headers.get("user-agent"))
    me = await service.to_me(db_session, user)
    return Response(me, cookies=[sessions.cookie(token, secure=settings.is_production)])


@post(
    "/auth/logout",
    status_code=HTTP_204_NO_CONTENT,
    summary="Sign out",
    responses=failures(403) | no_content("Signed out: the session ended, its cookie cleared"),
)
async def logout(
    request: AnyRequest, db_session: Provided[AsyncSession], settings: Provided[Settings]
) -> Response[None]:
    if token := sessions.token_of(request):
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
    responses=failures(
        *JSON_BODY,
        codes={
            400: "`invalid_token`: unknown, used or expired",
            409: "`email_taken`: another account took the address meanwhile",
        },
    ),
)
async def verify_email(
    data: JSONBody[TokenIn], db_session: Provided[AsyncSession]
) -> EmailConfirmed:
    email = await service.verify_email(db_session, data.token)
    return EmailConfirmed(detail="Your email address is confirmed.", email=email)


@post(
    "/auth/resend-verification",
    status_code=HTTP_202_ACCEPTED,
    summary="Mail the confirmation link again",
    responses=failures(401, 403, codes={409: "`already_verified`"}),
)
async def resend_verification(
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[Message]:
    await service.resend_verification(db_session, signed_in(viewer), accounts)
    answer = Message("We sent the confirmation link again.")
    return with_mail(answer, HTTP_202_ACCEPTED, accounts.outbox, mailer)


@post(
    "/auth/forgot-password",
    status_code=HTTP_202_ACCEPTED,
    summary="Mail a reset link",
    responses=failures(*JSON_BODY, 429),
)
async def forgot_password(
    data: JSONBody[EmailIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[Message]:
    await ratelimit.check(engine, FORGOT_PER_ADDRESS, client_address(request))
    await ratelimit.check(engine, FORGOT_PER_ACCOUNT, data.email.lower())
    await service.forgot_password(db_session, data.email, accounts)
    return with_mail(Message(FORGOT_ANSWER), HTTP_202_ACCEPTED, accounts.outbox, mailer)


@post(
    "/auth/reset-password",
    status_code=HTTP_204_NO_CONTENT,
    summary="Choose a new password",
    responses=failures(*JSON_BODY, codes={400: "`invalid_token`: unknown, used or expired"}),
)
async def reset_password(
    data: JSONBody[ResetPasswordIn],
    db_session: Provided[AsyncSession],
    hasher: Provided[PasswordHasher],
) -> None:
    await service.reset_password(db_session, data.token, data.password, hasher)


@get("/me", summary="The signed-in account", responses=failures(401))
async def me(db_session: Provided[AsyncSession], viewer: Provided[Viewer]) -> Me:
    return await service.to_me(db_session, signed_in(viewer))


@patch(
    "/me",
    summary="Change the display name or the email address",
    responses=failures(*JSON_BODY, 401),
)
async def update_me(
    data: JSONBody[ProfileIn],
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    accounts: Provided[service.Accounts],
    mailer: Provided[Mailer],
) -> Response[Me]:
    user = signed_in(viewer)
    await service.update_profile(db_session, user, data, accounts)
    updated = await service.to_me(db_session, user)
    return with_mail(updated, HTTP_200_OK, accounts.outbox, mailer)


@post(
    "/me/password",
    status_code=HTTP_204_NO_CONTENT,
    summary="Change the password",
    responses=failures(*JSON_BODY, 401, codes={403: "`wrong_password`"}),
)
async def change_password(
    data: JSONBody[PasswordChangeIn],
    request: AnyRequest,
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    hasher: Provided[PasswordHasher],
) -> None:
    await service.change_password(
        db_session,
        signed_in(viewer),
        data.current_password,
        data.new_password,
        hasher,
        keep=sessions.token_of(request),
    )


@get(
    "/me/export",
    summary="Download everything we hold about you (JSON)",
    responses=failures(401),
)
async def export(
    db_session: Provided[AsyncSession], viewer: Provided[Viewer]
) -> Response[dict[str, Any]]:
    data = await service.export(db_session, signed_in(viewer))
    disposition = 'attachment; filename="calcapp-export.json"'
    return Response(data, headers={"Content-Disposition": disposition})


@delete(
    "/me",
    status_code=HTTP_204_NO_CONTENT,
    summary="Delete the account",
    responses=failures(
        *JSON_BODY,
        401,
        codes={
            403: "`wrong_password`",
            503: "`billing_unavailable`: Stripe, which must stop the subscription first, "
            "cannot be reached",
        },
    )
    | no_content("Deleted: every session ended, the cookie cleared"),
)
async def delete_me(
    data: JSONBody[PasswordIn],
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    hasher: Provided[PasswordHasher],
    settings: Provided[Settings],
    gateway: Provided[StripeGateway | None],
) -> Response[None]:
    user = signed_in(viewer)
    await service.delete_account(db_session, user, data.password, hasher)
    await billing_service.stop_charging(db_session, user, gateway)
    return Response(
        None,
        status_code=HTTP_204_NO_CONTENT,
        cookies=[sessions.expired_cookie(secure=settings.is_production)],
    )


# Litestar answers OPTIONS with the methods of the first handler registered on a path only
# (`Allow: GET, OPTIONS` for /me), so /me answers it itself, from its handlers.
ME_ALLOW = ", ".join(
    sorted({*me.http_methods, *update_me.http_methods, *delete_me.http_methods, "OPTIONS"})
)


@route(
    "/me", http_method=HttpMethod.OPTIONS, status_code=HTTP_204_NO_CONTENT, include_in_schema=False
)
async def me_options() -> Response[None]:
    return Response(None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": ME_ALLOW})


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            me_options,  # before the other /me handlers: Litestar then adds no OPTIONS of its own
            csrf,
            signup,
            login,
            logout,
            verify_email,
            resend_verification,
            forgot_password,
            reset_password,
            me,
            update_me,
            change_password,
            export,
            delete_me,
        ],
        dependencies={
            "accounts": Provide(accounts_context, sync_to_thread=False),
        },
        tags=["accounts"],
    )
