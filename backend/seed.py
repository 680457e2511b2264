"""`calcapp db seed`: the data-architecture document's sample data (section 4.2), idempotently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.passwords import hash_now
from backend.entitlements.models import SubscriptionStatus
from backend.models import Subscription, User
from sync.tables import calculation_history

SEED_EMAIL = "test@example.com"
SEED_PASSWORD = "password123"  # noqa: S105 - the seed document's published test password
SEED_BCRYPT_ROUNDS = 12
SEED_CALCULATIONS = (
    ("7 + 3", "10", {"operator": "+", "operand1": 7, "operand2": 3}),
    ("15 * 2", "30", {"operator": "*", "operand1": 15, "operand2": 2}),
)


class SeedReport(msgspec.Struct, frozen=True):
    user_created: bool
    subscription_created: bool
    calculations_created: int


async def seed(session: AsyncSession) -> SeedReport:
    """Insert the test user, an active $5.00 subscription and two calculations if missing."""
    user_id = await session.scalar(select(User.id).where(User.email == SEED_EMAIL))
    user_created = user_id is None
    if user_id is None:
        password_hash = await asyncio.to_thread(hash_now, SEED_PASSWORD, SEED_BCRYPT_ROUNDS)
        user_id = await session.scalar(
            insert(User)
            .values(
                email=SEED_EMAIL,
                password_hash=password_hash,
                display_name="Test User",
                email_verified=True,
            )
            .returning(User.id)
        )

    has_subscription = await session.scalar(
        select(func.count()).select_from(Subscription).where(Subscription.user_id == user_id)
    )
    if not has_subscription:
        now = datetime.now(UTC)
        await session.execute(
            insert(Subscription).values(
                user_id=user_id,
                stripe_customer_id="cus_test123",
                stripe_subscription_id="sub_test123",
                status=SubscriptionStatus.ACTIVE,
                price_per_month=Decimal("5.00"),
                current_period_start=now,
                current_period_end=now + timedelta(days=30),
            )
        )

    existing = set(
        await session.scalars(
            select(calculation_history.c.expression).where(calculation_history.c.user_id == user_id)
        )
    )
    missing = [row for row in SEED_CALCULATIONS if row[0] not in existing]
    if missing:
        await session.execute(select(func.ensure_calculation_history_partition(func.now())))
        await session.execute(
            insert(calculation_history),
            [
                {"user_id": user_id, "expression": e, "result": r, "metadata": m}
                for e, r, m in missing
            ],
        )
    return SeedReport(
        user_created=user_created,
        subscription_created=not has_subscription,
        calculations_created=len(missing),
    )
