"""ORM models of the retention tables (schema: migrations/versions/0006_retention.py).

The retention job itself works with set-based SQL (backend/ops/retention.py); these models
keep `Base.metadata` complete, so the schema test compares every table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.engine import Base


class RetentionNotice(Base):
    """A warning mailed before a canceled user's synced history is deleted."""

    __tablename__ = "retention_notices"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(50), primary_key=True)
    premium_ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RetainedPayment(Base):
    """A payment record of an erased account, kept (without the email) for 7 years."""

    __tablename__ = "retained_payments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255))
    stripe_payment_intent_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(50))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    account_erased_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
