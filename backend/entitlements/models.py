"""The `subscriptions` table: what entitles an account to premium, paid through Stripe or
granted by an operator (schema: migrations/versions)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Numeric, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.engine import Base


class SubscriptionStatus(StrEnum):
    """The seed's five subscription states: the column's check constraint (the migration),
    the premium rules (premium.py) and Stripe's statuses mapped onto them (billing/service.py).
    tests/integration/test_schema.py checks the constraint against this list."""

    ACTIVE = "active"
    CANCELED = "canceled"
    PAST_DUE = "past_due"
    INCOMPLETE = "incomplete"
    TRIALING = "trialing"


class SubscriptionSource(StrEnum):
    """Where a subscription comes from: paid through Stripe, or granted by an operator (no
    Stripe objects behind it: its Stripe ids are stand-ins, never sent to Stripe)."""

    STRIPE = "stripe"
    COMPLIMENTARY = "complimentary"


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    stripe_customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(50), server_default=SubscriptionStatus.ACTIVE)
    source: Mapped[str] = mapped_column(String(20), server_default=SubscriptionSource.STRIPE)
    price_per_month: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    current_period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    current_period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    cancel_at_period_end: Mapped[bool] = mapped_column(server_default=text("false"))
