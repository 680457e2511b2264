"""The one module that talks to Stripe (or to localstripe, its emulator, in development).

Everything Stripe returns is turned into small plain snapshots here, reading both the old
payload shapes (localstripe: periods on the subscription, `invoice.subscription`) and the new
ones (periods on the subscription items, `invoice.parent.subscription_details`), so the rest of
the backend never sees a Stripe object.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe

from backend.settings import Settings
from backend.web.errors import AppError

logger = logging.getLogger(__name__)

PRODUCT_NAME = "Calcapp Premium"
PRICE_CENTS = 500
CURRENCY = "usd"
TIMEOUT_SECONDS = 15


class BillingUnavailableError(AppError):
    status_code = 503
    code = "billing_unavailable"
    doc = "Stripe cannot be reached; try again after `Retry-After` seconds"


class CardDeclinedError(AppError):
    status_code = 402
    code = "card_declined"
    doc = "the card was declined"


class BillingRequestError(AppError):
    code = "billing_invalid_request"
    doc = "Stripe refused the request"


@dataclass(frozen=True, slots=True)
class InvoiceSnapshot:
    id: str
    subscription_id: str | None
    payment_intent_id: str | None
    amount: Decimal
    currency: str
    status: str  # succeeded | failed | pending
    receipt_url: str | None
    hosted_invoice_url: str | None
    created: datetime


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    id: str
    customer_id: str
    user_id: str | None
    status: str
    price: Decimal
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    latest_invoice: InvoiceSnapshot | None
    action_client_secret: str | None
    """Set when the first payment needs the customer (3-D Secure) before it can complete."""


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value), tz=UTC)


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    found: str | None = value.get("id")
    return found


def invoice_snapshot(invoice: dict[str, Any]) -> InvoiceSnapshot:
    subscription = invoice.get("subscription") or (
        ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    )
    intent = invoice.get("payment_intent")
    charges = (
        (intent.get("charges") or {}).get("data") if isinstance(intent, dict) else None
    ) or []
    charge = charges[0] if charges else None
    if invoice.get("paid") or invoice.get("status") == "paid":
        status = "succeeded"
    elif invoice.get("attempted") or (
        isinstance(intent, dict) and intent.get("last_payment_error")
    ):
        status = "failed"
    else:
        status = "pending"
    amount = invoice.get("amount_paid") or invoice.get("amount_due") or invoice.get("total") or 0
    return InvoiceSnapshot(
        id=invoice["id"],
        subscription_id=_id(subscription),
        payment_intent_id=_id(intent),
        amount=Decimal(amount) / 100,
        currency=invoice.get("currency") or CURRENCY,
        status=status,
        receipt_url=(charge or {}).get("receipt_url"),
        hosted_invoice_url=invoice.get("hosted_invoice_url"),
        created=_time(invoice.get("created")) or datetime.now(UTC),
    )


def subscription_snapshot(subscription: dict[str, Any]) -> SubscriptionSnapshot:
    items = (subscription.get("items") or {}).get("data") or [{}]
    first = items[0]
    plan = subscription.get("plan") or first.get("plan") or first.get("price") or {}
    amount = plan.get("amount") if plan.get("amount") is not None else plan.get("unit_amount")
    start = subscription.get("current_period_start") or first.get("current_period_start")
    end = subscription.get("current_period_end") or first.get("current_period_end")
    invoice = subscription.get("latest_invoice")
    latest = invoice_snapshot(invoice) if isinstance(invoice, dict) else None
    intent = invoice.get("payment_intent") if isinstance(invoice, dict) else None
    action_secret = None
    if isinstance(intent, dict) and intent.get("status") in {
        "requires_action",
        "requires_source_action",
    }:
        action_secret = intent.get("client_secret")
    return SubscriptionSnapshot(
        id=subscription["id"],
        customer_id=_id(subscription.get("customer")) or "",
        user_id=(subscription.get("metadata") or {}).get("user_id"),
        status=subscription["status"],
        price=Decimal(amount or PRICE_CENTS) / 100,
        current_period_start=_time(start) or datetime.now(UTC),
        current_period_end=_time(end) or datetime.now(UTC),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        canceled_at=_time(subscription.get("canceled_at")),
        ended_at=_time(subscription.get("ended_at")),
        latest_invoice=latest,
        action_client_secret=action_secret,
    )


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        if settings.stripe_secret_key is None or settings.stripe_webhook_secret is None:
            raise ValueError("StripeGateway needs the Stripe settings")
        bases = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self._http = stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        self._client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses=bases,  # type: ignore[arg-type]
            http_client=self._http,
            max_network_retries=1,
        )
        self._stripe = self._client.v1
        self._webhook_secret = settings.stripe_webhook_secret
        self.plan_id = settings.stripe_plan_id
        self._plan_checked = False

    async def _call(self, operation: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run one API call; Stripe's failures become the app's errors."""
        try:
            result = await operation(*args, **kwargs)
        except stripe.CardError as exc:
            raise CardDeclinedError(exc.user_message or "Your card was declined.") from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise BillingUnavailableError(
                "The payment service cannot be reached right now: try again in a moment",
                headers={"Retry-After": "10"},
            ) from exc
        except stripe.InvalidRequestError as exc:
            raise BillingRequestError(
                exc.user_message or "The payment service refused the request"
            ) from exc
        except stripe.StripeError as exc:
            logger.error("Stripe error: %s", exc)
            raise BillingUnavailableError(
                "The payment service failed: try again in a moment", headers={"Retry-After": "10"}
            ) from exc
        as_dict: dict[str, Any] = result.to_dict()
        return as_dict

    async def close(self) -> None:
        """Close the connections to Stripe (when the app stops)."""
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def ensure_plan(self) -> None:
        """The product and the $5.00 monthly plan with our fixed id exist (idempotent)."""
        if self._plan_checked:
            return
        try:
            await self._call(self._stripe.plans.retrieve_async, self.plan_id)
            self._plan_checked = True
            return
        except BillingRequestError:
            pass  # no such plan yet
        product = await self._call(
            self._stripe.products.create_async, params={"name": PRODUCT_NAME}
        )
        await self._call(
            self._stripe.plans.create_async,
            params={
                "id": self.plan_id,
                "amount": PRICE_CENTS,
                "currency": CURRENCY,
                "interval": "month",
                "product": product["id"],
            },
        )
        self._plan_checked = True

    async def create_customer(self, email: str, user_id: str) -> str:
        customer = await self._call(
            self._stripe.customers.create_async,
            params={"email": email, "metadata": {"user_id": user_id}},
        )
        return str(customer["id"])

    async def setup_intent(self, customer_id: str) -> str:
        intent = await self._call(
            self._stripe.setup_intents.create_async,
            params={"customer": customer_id, "payment_method_types": ["card"]},
        )
        return str(intent["client_secret"])

    async def subscribe(
        self, customer_id: str, payment_method: str, user_id: str
    ) -> SubscriptionSnapshot:
        await self.ensure_plan()  # in case Stripe was unreachable when the app started
        method = await self._call(self._stripe.payment_methods.retrieve_async, payment_method)
        if _id(method.get("customer")) != customer_id:
            await self._call(
                self._stripe.payment_methods.attach_async,
                payment_method,
                params={"customer": customer_id},
            )
        await self._call(
            self._stripe.customers.update_async,
            customer_id,
            params={"invoice_settings": {"default_payment_method": payment_method}},
        )
        subscription = await self._call(
            self._stripe.subscriptions.create_async,
            params={
                "customer": customer_id,
                "items": [{"plan": self.plan_id}],
                "payment_behavior": "allow_incomplete",
                "metadata": {"user_id": user_id},
                "expand": ["latest_invoice.payment_intent"],
            },
            # A retry after a lost answer (a timeout) gets the same subscription, not a second.
            options={"idempotency_key": f"subscribe-{user_id}-{payment_method}"},
        )
        return subscription_snapshot(subscription)

    async def subscription(self, subscription_id: str) -> SubscriptionSnapshot:
        subscription = await self._call(
            self._stripe.subscriptions.retrieve_async,
            subscription_id,
            params={"expand": ["latest_invoice.payment_intent"]},
        )
        return subscription_snapshot(subscription)

    async def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool
    ) -> SubscriptionSnapshot:
        await self._call(
            self._stripe.subscriptions.update_async,
            subscription_id,
            params={"cancel_at_period_end": cancel},
        )
        return await self.subscription(subscription_id)

    async def cancel_now(self, subscription_id: str) -> SubscriptionSnapshot:
        await self._call(self._stripe.subscriptions.cancel_async, subscription_id)
        return await self.subscription(subscription_id)

    async def invoice(self, invoice_id: str) -> InvoiceSnapshot:
        invoice = await self._call(
            self._stripe.invoices.retrieve_async,
            invoice_id,
            params={"expand": ["payment_intent"]},
        )
        return invoice_snapshot(invoice)

    def event(self, payload: bytes, signature: str) -> dict[str, Any]:
        """The verified event, or `ValueError` when the signature or payload is not valid."""
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise ValueError(str(exc)) from exc
        as_dict: dict[str, Any] = event.to_dict()
        return as_dict
