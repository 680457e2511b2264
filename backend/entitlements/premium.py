"""Who is premium: read from the local `subscriptions` row only (never from Stripe).

active / trialing: premium until the period's end, plus a few days for a late renewal;
past_due: premium for a grace period after the period's end; canceled: until the period's end.
Operators can grant a complimentary subscription (`calcapp users grant-premium`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.entitlements.models import Subscription, SubscriptionSource
from backend.entitlements.models import SubscriptionStatus as Status

RENEWAL_SLACK = timedelta(days=3)
PAST_DUE_GRACE = timedelta(days=7)
COMPLIMENTARY_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)
STAND_IN_PREFIX = "comp_"
"""The stand-in Stripe ids of complimentary subscriptions (the columns are unique and required);
what a subscription is says its `source`."""


def premium_condition() -> ColumnElement[bool]:
    now = func.now()
    end = Subscription.current_period_end
    return or_(
        and_(Subscription.status.in_((Status.ACTIVE, Status.TRIALING)), end + RENEWAL_SLACK > now),
        and_(Subscription.status == Status.PAST_DUE, end + PAST_DUE_GRACE > now),
        and_(Subscription.status == Status.CANCELED, end > now),
    )


# Built once: constructing the expression per request costs more than running it.
IS_PREMIUM = select(
    exists().where(Subscription.user_id == bindparam("user_id"), premium_condition())
)


async def is_premium(db: AsyncSession, user_id: uuid.UUID) -> bool:
    return bool(await db.scalar(IS_PREMIUM, {"user_id": user_id}))


async def grant(db: AsyncSession, user_id: uuid.UUID, until: datetime | None) -> datetime:
    """A complimentary subscription (price 0) until `until`; extends an existing one."""
    end = until or COMPLIMENTARY_UNTIL
    subscription = await db.scalar(select(Subscription).where(Subscription.user_id == user_id))
    if subscription is None:
        subscription = Subscription(
            user_id=user_id,
            source=SubscriptionSource.COMPLIMENTARY,
            stripe_customer_id=f"{STAND_IN_PREFIX}{user_id.hex}",
            stripe_subscription_id=f"{STAND_IN_PREFIX}{user_id.hex}",
            price_per_month=Decimal("0.00"),
            current_period_start=datetime.now(UTC),
        )
        db.add(subscription)
    subscription.status = Status.ACTIVE
    subscription.canceled_at = None
    subscription.current_period_end = end
    await db.flush()
    return end


async def revoke(db: AsyncSession, user_id: uuid.UUID) -> bool:
    """End premium now; False when the user had no subscription."""
    subscription = await db.scalar(select(Subscription).where(Subscription.user_id == user_id))
    if subscription is None:
        return False
    now = datetime.now(UTC)
    subscription.status = Status.CANCELED
    subscription.canceled_at = now
    subscription.current_period_end = now
    await db.flush()
    return True
