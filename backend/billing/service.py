"""The premium subscription's life cycle, kept in step with Stripe.

The local `subscriptions` row is what access checks read (sync keeps working when Stripe is
down). It is written from what Stripe says: the answers of our own calls, and webhook events,
for which the subscription (or invoice) is fetched again, so that the order of events and the
shape of their payloads do not matter. `calcapp billing reconcile` fetches every subscription
that is not final again. Over 400 lines on purpose: the life cycle is one state machine
(subscribe, refresh, cancel, resume, webhooks, reconcile) over the same few helpers.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Person, User
from backend.billing.gateway import (
    CURRENCY,
    PRICE_CENTS,
    BillingRequestError,
    InvoiceSnapshot,
    StripeGateway,
    SubscriptionSnapshot,
)
from backend.billing.models import PaymentHistory, StripeCustomer, StripeEvent
from backend.entitlements import premium
from backend.entitlements.models import Subscription
from backend.entitlements.models import SubscriptionSource as Source
from backend.entitlements.models import SubscriptionStatus as Status
from backend.settings import Settings
from backend.web.errors import AppError

logger = logging.getLogger(__name__)

LIVE_STATUSES = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE)
FINAL_STATUSES = (Status.CANCELED,)


class AlreadySubscribedError(AppError):
    status_code = 409
    code = "already_subscribed"
    doc = "the account has a subscription already"


class NoSubscriptionError(AppError):
    status_code = 404
    code = "no_subscription"
    doc = "the account has no paid subscription"


class BillingNotConfiguredError(AppError):
    status_code = 503
    code = "billing_not_configured"
    doc = "the server has no billing"


class Plan(msgspec.Struct, frozen=True):
    id: str
    name: str
    amount: str
    currency: str
    interval: str


class SubscriptionOut(msgspec.Struct, frozen=True):
    status: str
    premium: bool
    complimentary: bool
    price_per_month: str
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    canceled_at: datetime | None


class Billing(msgspec.Struct, frozen=True):
    configured: bool
    publishable_key: str | None
    stripe_js: str | None
    plan: Plan
    subscription: SubscriptionOut | None


class SubscribeOutcome(msgspec.Struct, frozen=True):
    status: str
    requires_action: bool
    client_secret: str | None
    billing: Billing


class Payment(msgspec.Struct, frozen=True):
    amount: str
    currency: str
    status: str
    created_at: datetime
    receipt_url: str | None


class Payments(msgspec.Struct, frozen=True):
    items: list[Payment]


def _complimentary(subscription: Subscription) -> bool:
    return subscription.source == Source.COMPLIMENTARY


async def subscription_of(db: AsyncSession, user_id: uuid.UUID) -> Subscription | None:
    # populate_existing: the row may have just changed under the session (an upsert).
    found: Subscription | None = await db.scalar(
        select(Subscription)
        .where(Subscription.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    return found


async def billing(db: AsyncSession, user: Person, settings: Settings) -> Billing:
    subscription = await subscription_of(db, user.id)
    out = None
    if subscription is not None:
        out = SubscriptionOut(
            status=subscription.status,
            premium=await premium.is_premium(db, user.id),
            complimentary=_complimentary(subscription),
            price_per_month=str(subscription.price_per_month),
            current_period_start=subscription.current_period_start,
            current_period_end=subscription.current_period_end,
            cancel_at_period_end=subscription.cancel_at_period_end,
            canceled_at=subscription.canceled_at,
        )
    return Billing(
        configured=settings.billing_configured,
        publishable_key=settings.stripe_publishable_key,
        stripe_js=settings.stripe_js_url if settings.billing_configured else None,
        plan=Plan(
            id=settings.stripe_plan_id,
            name="Calcapp Premium",
            amount=f"{Decimal(PRICE_CENTS) / 100:.2f}",
            currency=CURRENCY,
            interval="month",
        ),
        subscription=out,
    )


def require(gateway: StripeGateway | None) -> StripeGateway:
    if gateway is None:
        raise BillingNotConfiguredError("Payments are not set up on this server")
    return gateway


async def _refuse_double(db: AsyncSession, user: Person) -> None:
    subscription = await subscription_of(db, user.id)
    if (
        subscription is not None
        and not _complimentary(subscription)
        and subscription.status in LIVE_STATUSES
    ):
        raise AlreadySubscribedError("You already have Calcapp Premium")


async def customer_for(db: AsyncSession, user: Person, gateway: StripeGateway) -> str:
    """The user's Stripe customer, created on first use and kept for every later attempt."""
    known = await db.scalar(
        select(StripeCustomer.stripe_customer_id).where(StripeCustomer.user_id == user.id)
    )
    if known:
        return str(known)
    customer_id = await gateway.create_customer(user.email, str(user.id))
    await db.execute(
        insert(StripeCustomer)
        .values(user_id=user.id, stripe_customer_id=customer_id)
        .on_conflict_do_nothing(index_elements=[StripeCustomer.user_id])
    )
    stored = await db.scalar(
        select(StripeCustomer.stripe_customer_id).where(StripeCustomer.user_id == user.id)
    )
    return str(stored)


async def setup_intent(db: AsyncSession, user: Person, gateway: StripeGateway) -> str:
    await _refuse_double(db, user)
    return await gateway.setup_intent(await customer_for(db, user, gateway))


async def subscribe(
    db: AsyncSession, user: Person, gateway: StripeGateway, payment_method: str, settings: Settings
) -> SubscribeOutcome:
    # One subscribe at a time per account: a second one (another card, another tab) waits for
    # this transaction, then finds the subscription and is refused.
    await db.execute(select(User.id).where(User.id == user.id).with_for_update())
    await _refuse_double(db, user)
    customer_id = await customer_for(db, user, gateway)
    snapshot = await gateway.subscribe(customer_id, payment_method, str(user.id))
    await apply_subscription(db, snapshot, user_id=user.id)
    return SubscribeOutcome(
        status=snapshot.status,
        requires_action=snapshot.action_client_secret is not None,
        client_secret=snapshot.action_client_secret,
        billing=await billing(db, user, settings),
    )


async def _stripe_subscription(db: AsyncSession, user: Person) -> Subscription:
    subscription = await subscription_of(db, user.id)
    if subscription is None or _complimentary(subscription):
        raise NoSubscriptionError("You have no paid subscription")
    return subscription


async def refresh(
    db: AsyncSession, user: Person, gateway: StripeGateway, settings: Settings
) -> Billing:
    """Fetch the user's subscription from Stripe again (after 3-D Secure, say)."""
    subscription = await _stripe_subscription(db, user)
    await apply_subscription(db, await gateway.subscription(subscription.stripe_subscription_id))
    return await billing(db, user, settings)


async def cancel(
    db: AsyncSession, user: Person, gateway: StripeGateway, at_period_end: bool, settings: Settings
) -> Billing:
    subscription = await _stripe_subscription(db, user)
    stripe_id = subscription.stripe_subscription_id
    snapshot = (
        await gateway.set_cancel_at_period_end(stripe_id, True)
        if at_period_end
        else await gateway.cancel_now(stripe_id)
    )
    await apply_subscription(db, snapshot)
    return await billing(db, user, settings)


async def stop_charging(db: AsyncSession, user: Person, gateway: StripeGateway | None) -> None:
    """An account being deleted is not charged again: its live Stripe subscription is
    canceled now. Stripe unreachable raises (503), so the deletion waits for a retry."""
    subscription = await subscription_of(db, user.id)
    if (
        subscription is None
        or _complimentary(subscription)
        or subscription.status in FINAL_STATUSES
    ):
        return
    if gateway is None:
        logger.warning("deleted user %s has a Stripe subscription; billing is off", user.id)
        return
    await apply_subscription(db, await gateway.cancel_now(subscription.stripe_subscription_id))


async def resume(
    db: AsyncSession, user: Person, gateway: StripeGateway, settings: Settings
) -> Billing:
    subscription = await _stripe_subscription(db, user)
    snapshot = await gateway.set_cancel_at_period_end(subscription.stripe_subscription_id, False)
    await apply_subscription(db, snapshot)
    return await billing(db, user, settings)


async def payments(db: AsyncSession, user: Person) -> Payments:
    """The seed's Query 4: the last 12 payments of the user's subscription."""
    rows = await db.scalars(
        select(PaymentHistory)
        .join(Subscription, Subscription.id == PaymentHistory.subscription_id)
        .where(Subscription.user_id == user.id)
        .order_by(PaymentHistory.created_at.desc())
        .limit(12)
    )
    return Payments(
        items=[
            Payment(
                amount=str(row.amount),
                currency=row.currency,
                status=row.status,
                created_at=row.created_at,
                receipt_url=(row.metadata_ or {}).get("receipt_url"),
            )
            for row in rows
        ]
    )


async def _owner(db: AsyncSession, snapshot: SubscriptionSnapshot) -> uuid.UUID | None:
    if snapshot.user_id:
        try:
            return uuid.UUID(snapshot.user_id)
        except ValueError:
            pass
    owner: uuid.UUID | None = await db.scalar(
        select(StripeCustomer.user_id).where(
            StripeCustomer.stripe_customer_id == snapshot.customer_id
        )
    )
    return owner


async def apply_subscription(
    db: AsyncSession, snapshot: SubscriptionSnapshot, *, user_id: uuid.UUID | None = None
) -> None:
    """Make the local row say what Stripe says (and record the latest invoice's payment)."""
    owner = user_id or await _owner(db, snapshot)
    if owner is None:
        logger.warning("subscription %s belongs to no known user", snapshot.id)
        return
    current = await subscription_of(db, owner)
    if (
        current is not None
        and current.stripe_subscription_id != snapshot.id
        and not _complimentary(current)
        and current.status not in FINAL_STATUSES
        and snapshot.status in FINAL_STATUSES
    ):
        return  # news about an older, finished subscription: the live one stays
    period_end = snapshot.current_period_end
    if snapshot.ended_at is not None:  # canceled now: premium ends when it ended
        period_end = min(period_end, snapshot.ended_at)
    values: dict[str, Any] = {
        "stripe_customer_id": snapshot.customer_id,
        "stripe_subscription_id": snapshot.id,
        "source": Source.STRIPE,
        "status": _local_status(snapshot.status),
        "price_per_month": snapshot.price,
        "current_period_start": snapshot.current_period_start,
        "current_period_end": period_end,
        "cancel_at_period_end": snapshot.cancel_at_period_end,
        "canceled_at": snapshot.canceled_at,
    }
    await db.execute(
        insert(Subscription)
        .values(user_id=owner, **values)
        .on_conflict_do_update(index_elements=[Subscription.user_id], set_=values)
    )
    if snapshot.latest_invoice is not None:
        await record_invoice(db, snapshot.latest_invoice)


def _local_status(status: str) -> str:
    """Stripe's statuses onto the seed's five: `unpaid`, `incomplete_expired` and `paused`
    end premium, like `canceled`."""
    return status if status in set(Status) else Status.CANCELED


async def record_invoice(db: AsyncSession, invoice: InvoiceSnapshot) -> None:
    """Write (or update) the payment of an invoice into payment_history."""
    if invoice.subscription_id is None:
        return
    subscription_id = await db.scalar(
        select(Subscription.id).where(
            Subscription.stripe_subscription_id == invoice.subscription_id
        )
    )
    if subscription_id is None:
        return
    metadata = {
        "invoice_id": invoice.id,
        "receipt_url": invoice.receipt_url or invoice.hosted_invoice_url,
    }
    values: dict[str, Any] = {
        "amount": invoice.amount,
        "currency": invoice.currency,
        "status": invoice.status,
        "metadata_": metadata,
    }
    await db.execute(
        insert(PaymentHistory)
        .values(
            subscription_id=subscription_id,
            stripe_payment_intent_id=invoice.payment_intent_id or invoice.id,
            created_at=invoice.created,
            **values,
        )
        .on_conflict_do_update(
            index_elements=[PaymentHistory.stripe_payment_intent_id],
            set_={"status": invoice.status, "amount": invoice.amount, "metadata": metadata},
        )
    )


async def handle_event(db: AsyncSession, gateway: StripeGateway, event: dict[str, Any]) -> bool:
    """Process a verified webhook event once; False for a repeat (already in the ledger)."""
    first_time = await db.scalar(
        insert(StripeEvent)
        .values(event_id=event["id"], type=event["type"])
        .on_conflict_do_nothing(index_elements=[StripeEvent.event_id])
        .returning(StripeEvent.event_id)
    )
    if first_time is None:
        return False
    kind: str = event["type"]
    obj = event["data"]["object"]
    if kind.startswith("customer.subscription."):
        await apply_subscription(db, await gateway.subscription(obj["id"]))
    elif kind.startswith("invoice."):
        invoice = await gateway.invoice(obj["id"])
        if invoice.subscription_id:
            await apply_subscription(db, await gateway.subscription(invoice.subscription_id))
            await record_invoice(db, invoice)
    return True


async def reconcile(db: AsyncSession, gateway: StripeGateway) -> tuple[int, list[str]]:
    """Fetch every paid subscription that is not final again; returns how many were brought
    up to date, and the ids Stripe could not answer for (the others are still done)."""
    rows = await db.scalars(
        select(Subscription.stripe_subscription_id).where(
            Subscription.status.not_in(FINAL_STATUSES),
            Subscription.source == Source.STRIPE,
        )
    )
    done, failed = 0, []
    for stripe_id in list(rows):
        try:
            snapshot = await gateway.subscription(stripe_id)
        except BillingRequestError as exc:  # e.g. unknown to Stripe: report, go on
            logger.error("subscription %s not reconciled: %s", stripe_id, exc.detail)
            failed.append(stripe_id)
            continue
        await apply_subscription(db, snapshot)
        done += 1
    return done, failed
