"""HTTP handlers of the account's export and deletion (docs/api.md): thin wrappers over
`service`."""

from __future__ import annotations

from datetime import timedelta

from litestar import Response, Router, delete, get
from litestar.enums import MediaType
from litestar.params import JSONBody
from litestar.response import Stream
from litestar.status_codes import HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.accounts import service as accounts
from backend.accounts import sessions
from backend.accounts.auth import Account, requires_user
from backend.accounts.password_checks import PASSWORD_CHECKED, failures_counted
from backend.accounts.passwords import PasswordHasher
from backend.accounts.schemas import PasswordIn
from backend.billing.gateway import BillingUnavailableError, StripeGateway
from backend.privacy import service
from backend.ratelimit import Limit
from backend.settings import Settings
from backend.web.deps import Provided
from backend.web.errors import NotAuthenticatedError
from backend.web.openapi import failures, no_content

DELETE_FAILURES = Limit("delete-failures:account", 5, timedelta(minutes=15))


@get(
    "/me/export",
    summary="Download everything we hold about you (JSON)",
    media_type=MediaType.JSON,
    responses=failures(NotAuthenticatedError),
)
async def export(
    db_session: Provided[AsyncSession], engine: Provided[AsyncEngine], account: Provided[Account]
) -> Stream:
    """Streamed: the memory it takes does not grow with the history."""
    user = await accounts.user_of(db_session, account)
    head = await service.export_head(db_session, user)
    disposition = 'attachment; filename="calcapp-export.json"'
    return Stream(
        service.export_chunks(engine, head, user.id),
        media_type=MediaType.JSON,
        headers={"Content-Disposition": disposition},
    )


@delete(
    "/me",
    status_code=HTTP_204_NO_CONTENT,
    summary="Delete the account",
    # Stripe must stop the subscription first.
    responses=failures(*PASSWORD_CHECKED, BillingUnavailableError)
    | no_content("Deleted: every session ended, the cookie cleared"),
)
async def delete_me(
    data: JSONBody[PasswordIn],
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    account: Provided[Account],
    hasher: Provided[PasswordHasher],
    settings: Provided[Settings],
    gateway: Provided[StripeGateway | None],
) -> Response[None]:
    user = await accounts.user_of(db_session, account)
    await failures_counted(
        engine,
        DELETE_FAILURES,
        str(user.id),
        lambda: accounts.check_password(user, data.password, hasher, what="The password"),
    )
    await service.delete_account(db_session, user, gateway)
    return Response(
        None,
        status_code=HTTP_204_NO_CONTENT,
        cookies=[sessions.expired_cookie(secure=settings.is_production)],
    )


def router() -> Router:
    return Router(
        path="/", guards=[requires_user], route_handlers=[export, delete_me], tags=["accounts"]
    )
