"""`/billing/...`: thin handlers over `billing.service` (docs/api.md, "Billing")."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.sessions import Viewer, signed_in
from backend.billing import service
from backend.billing.gateway import StripeGateway
from backend.deps import Provided
from backend.errors import AppError
from backend.settings import Settings

WEBHOOK_PATH = "/billing/webhook"
MAX_WEBHOOK_BYTES = 512 * 1024


class InvalidSignatureError(AppError):
    code = "invalid_signature"


class SubscribeIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    payment_method: Annotated[str, msgspec.Meta(min_length=3, max_length=255, pattern=r"^pm_\w+$")]


class CancelIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    at_period_end: bool = True


class SetupIntentOut(msgspec.Struct, frozen=True):
    client_secret: str


class Received(msgspec.Struct, frozen=True):
    received: bool
    duplicate: bool


@get("/billing", summary="Plan, subscription state and what the page needs to pay")
async def billing(
    db_session: Provided[AsyncSession], viewer: Provided[Viewer], settings: Provided[Settings]
) -> service.Billing:
    return await service.billing(db_session, signed_in(viewer), settings)


@post("/billing/setup-intent", status_code=HTTP_200_OK, summary="Start saving a card")
async def setup_intent(
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    gateway: Provided[StripeGateway | None],
) -> SetupIntentOut:
    user = signed_in(viewer)
    secret = await service.setup_intent(db_session, user, service.require(gateway))
    return SetupIntentOut(client_secret=secret)


@post("/billing/subscribe", status_code=HTTP_200_OK, summary="Subscribe with a saved card")
async def subscribe(
    data: JSONBody[SubscribeIn],
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    gateway: Provided[StripeGateway | None],
    settings: Provided[Settings],
) -> service.SubscribeOutcome:
    user = signed_in(viewer)
    return await service.subscribe(
        db_session, user, service.require(gateway), data.payment_method, settings
    )


@post(
    "/billing/refresh", status_code=HTTP_200_OK, summary="Fetch the subscription from Stripe again"
)
async def refresh(
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    gateway: Provided[StripeGateway | None],
    settings: Provided[Settings],
) -> service.Billing:
    user = signed_in(viewer)
    return await service.refresh(db_session, user, service.require(gateway), settings)


@post("/billing/cancel", status_code=HTTP_200_OK, summary="Cancel (at the period's end, or now)")
async def cancel(
    data: JSONBody[CancelIn],
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    gateway: Provided[StripeGateway | None],
    settings: Provided[Settings],
) -> service.Billing:
    user = signed_in(viewer)
    return await service.cancel(
        db_session, user, service.require(gateway), data.at_period_end, settings
    )


@post("/billing/resume", status_code=HTTP_200_OK, summary="Undo a cancellation at period end")
async def resume(
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    gateway: Provided[StripeGateway | None],
    settings: Provided[Settings],
) -> service.Billing:
    user = signed_in(viewer)
    return await service.resume(db_session, user, service.require(gateway), settings)


@get("/billing/payments", summary="The last 12 payments (seed Query 4)")
async def payments(
    db_session: Provided[AsyncSession], viewer: Provided[Viewer]
) -> service.Payments:
    return await service.payments(db_session, signed_in(viewer))


@post(
    WEBHOOK_PATH,
    status_code=HTTP_200_OK,
    request_max_body_size=MAX_WEBHOOK_BYTES,
    summary="Stripe's events (signed; exempt from CSRF)",
)
async def webhook(
    request: Request[Any, Any, Any],
    db_session: Provided[AsyncSession],
    gateway: Provided[StripeGateway | None],
) -> Received:
    stripe = service.require(gateway)
    payload = await request.body()
    try:
        event = stripe.event(payload, request.headers.get("stripe-signature", ""))
    except ValueError as exc:
        raise InvalidSignatureError("The event's signature is not valid") from exc
    first_time = await service.handle_event(db_session, stripe, event)
    return Received(received=True, duplicate=not first_time)


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            billing,
            setup_intent,
            subscribe,
            refresh,
            cancel,
            resume,
            payments,
            webhook,
        ],
        tags=["billing"],
    )
