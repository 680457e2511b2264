"""`/billing/...`: thin handlers over `billing.service` (docs/api.md, "Billing")."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend import ratelimit
from backend.accounts.auth import Account, requires_user
from backend.billing import service
from backend.billing.gateway import (
    BillingRequestError,
    BillingUnavailableError,
    CardDeclinedError,
    StripeGateway,
)
from backend.billing.service import (
    AlreadySubscribedError,
    BillingNotConfiguredError,
    NoSubscriptionError,
)
from backend.ratelimit import Limit, RateLimitedError
from backend.settings import Settings
from backend.web.deps import Provided
from backend.web.errors import (
    AppError,
    CsrfFailedError,
    NotAuthenticatedError,
    RequestTooLargeError,
)
from backend.web.metrics import UNKNOWN_EVENT, Metrics
from backend.web.openapi import JSON_BODY, failures

WEBHOOK_PATH = "/billing/webhook"
# Card testing (trying stolen cards one after another) goes through these two.
SETUP_INTENTS_PER_ACCOUNT = Limit("setup-intent:account", 10, timedelta(hours=1))
SUBSCRIBES_PER_ACCOUNT = Limit("subscribe:account", 10, timedelta(hours=1))
MAX_WEBHOOK_BYTES = 512 * 1024

# The failures of every call that goes to Stripe.
STRIPE_CALL = (BillingRequestError, BillingNotConfiguredError, BillingUnavailableError)
# ...and those on a subscription.
ON_SUBSCRIPTION = (NotAuthenticatedError, NoSubscriptionError, *STRIPE_CALL)


class InvalidSignatureError(AppError):
    code = "invalid_signature"
    doc = "not an event signed with the webhook secret"


class SubscribeIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    payment_method: Annotated[str, msgspec.Meta(min_length=3, max_length=255, pattern=r"^pm_\w+$")]


class CancelIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    at_period_end: bool = True


class SetupIntentOut(msgspec.Struct, frozen=True):
    client_secret: str


class Received(msgspec.Struct, frozen=True):
    received: bool
    duplicate: bool


@get(
    "/billing",
    summary="Plan, subscription state and what the page needs to pay",
    responses=failures(NotAuthenticatedError),
)
async def billing(
    db_session: Provided[AsyncSession], account: Provided[Account], settings: Provided[Settings]
) -> service.Billing:
    return await service.billing(db_session, account, settings)


@post(
    "/billing/setup-intent",
    status_code=HTTP_200_OK,
    summary="Start saving a card",
    responses=failures(
        NotAuthenticatedError,
        CsrfFailedError,
        RateLimitedError,
        AlreadySubscribedError,
        *STRIPE_CALL,
    ),
)
async def setup_intent(
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    account: Provided[Account],
    stripe: Provided[StripeGateway],
) -> SetupIntentOut:
    await ratelimit.check(engine, SETUP_INTENTS_PER_ACCOUNT, str(account.id))
    secret = await service.setup_intent(db_session, account, stripe)
    return SetupIntentOut(client_secret=secret)


@post(
    "/billing/subscribe",
    status_code=HTTP_200_OK,
    summary="Subscribe with a saved card",
    responses=failures(
        *JSON_BODY,
        NotAuthenticatedError,
        RateLimitedError,
        CardDeclinedError,
        AlreadySubscribedError,
        *STRIPE_CALL,
    ),
)
async def subscribe(
    data: JSONBody[SubscribeIn],
    db_session: Provided[AsyncSession],
    engine: Provided[AsyncEngine],
    account: Provided[Account],
    stripe: Provided[StripeGateway],
    settings: Provided[Settings],
) -> service.SubscribeOutcome:
    await ratelimit.check(engine, SUBSCRIBES_PER_ACCOUNT, str(account.id))
    return await service.subscribe(db_session, account, stripe, data.payment_method, settings)


@post(
    "/billing/refresh",
    status_code=HTTP_200_OK,
    summary="Fetch the subscription from Stripe again",
    responses=failures(CsrfFailedError, *ON_SUBSCRIPTION),
)
async def refresh(
    db_session: Provided[AsyncSession],
    account: Provided[Account],
    stripe: Provided[StripeGateway],
    settings: Provided[Settings],
) -> service.Billing:
    return await service.refresh(db_session, account, stripe, settings)


@post(
    "/billing/cancel",
    status_code=HTTP_200_OK,
    summary="Cancel (at the period's end, or now)",
    responses=failures(*JSON_BODY, *ON_SUBSCRIPTION),
)
async def cancel(
    data: JSONBody[CancelIn],
    db_session: Provided[AsyncSession],
    account: Provided[Account],
    stripe: Provided[StripeGateway],
    settings: Provided[Settings],
) -> service.Billing:
    return await service.cancel(db_session, account, stripe, data.at_period_end, settings)


@post(
    "/billing/resume",
    status_code=HTTP_200_OK,
    summary="Undo a cancellation at period end",
    responses=failures(CsrfFailedError, *ON_SUBSCRIPTION),
)
async def resume(
    db_session: Provided[AsyncSession],
    account: Provided[Account],
    stripe: Provided[StripeGateway],
    settings: Provided[Settings],
) -> service.Billing:
    return await service.resume(db_session, account, stripe, settings)


@get(
    "/billing/payments",
    summary="The last 12 payments (seed Query 4)",
    responses=failures(NotAuthenticatedError),
)
async def payments(
    db_session: Provided[AsyncSession], account: Provided[Account]
) -> service.Payments:
    return await service.payments(db_session, account)


@post(
    WEBHOOK_PATH,
    status_code=HTTP_200_OK,
    request_max_body_size=MAX_WEBHOOK_BYTES,
    summary="Stripe's events (signed; exempt from CSRF)",
    responses=failures(RequestTooLargeError, InvalidSignatureError, *STRIPE_CALL),
)
async def webhook(
    request: Request[Any, Any, Any],
    db_session: Provided[AsyncSession],
    stripe: Provided[StripeGateway],
    metrics: Provided[Metrics],
) -> Received:
    payload = await request.body()
    try:
        event = stripe.event(payload, request.headers.get("stripe-signature", ""))
    except ValueError as exc:
        metrics.record_webhook(UNKNOWN_EVENT, "invalid_signature")
        raise InvalidSignatureError("The event's signature is not valid") from exc
    event_type = str(event.get("type", UNKNOWN_EVENT))
    try:
        first_time = await service.handle_event(db_session, stripe, event)
    except Exception:
        metrics.record_webhook(event_type, "error")
        raise
    metrics.record_webhook(event_type, "processed" if first_time else "duplicate")
    return Received(received=True, duplicate=not first_time)


async def requires_billing(connection: ASGIConnection[Any, Any, Any, Any], _: Any) -> None:
    """Guard: 503 `billing_not_configured` on a server without Stripe's keys."""
    service.require(connection.app.state.gateway)


def provide_stripe(state: State) -> StripeGateway:
    """The gateway, for handlers behind `requires_billing`."""
    return service.require(state.gateway)


def router() -> Router:
    stripe = {"stripe": Provide(provide_stripe, sync_to_thread=False)}
    return Router(
        path="/",
        route_handlers=[
            Router(
                path="/",
                guards=[requires_user],
                route_handlers=[
                    billing,
                    payments,
                    Router(
                        path="/",
                        guards=[requires_billing],
                        dependencies=stripe,
                        route_handlers=[setup_intent, subscribe, refresh, cancel, resume],
                    ),
                ],
            ),
            Router(
                path="/", guards=[requires_billing], dependencies=stripe, route_handlers=[webhook]
            ),
        ],
        tags=["billing"],
    )
