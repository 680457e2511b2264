"""Export and deletion of an account, for the API (`routes`) and the operators' CLI."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.accounts import sessions
from backend.accounts.models import User
from backend.billing import service as billing
from backend.billing.gateway import StripeGateway
from backend.billing.models import PaymentHistory
from backend.entitlements.models import Subscription
from sync.tables import calculation_history


async def delete_account(db: AsyncSession, user: User, gateway: StripeGateway | None) -> None:
    """Delete an account, for `DELETE /me` and `calcapp users delete` (seed 3.2): the charges
    stopped on Stripe first (when Stripe cannot be reached, nothing changes), then the account
    hidden at once with every session ended; retention hard-deletes it after 30 days."""
    await billing.stop_charging(db, user, gateway)
    user.deleted_at = datetime.now(UTC)
    await sessions.end_all(db, user.id)
    await db.flush()


async def export_head(db: AsyncSession, user: User) -> dict[str, Any]:
    """Everything we hold about the user but the calculations (GDPR right of access, seed 6.3)."""
    subscription = await db.scalar(select(Subscription).where(Subscription.user_id == user.id))
    payments = (
        []
        if subscription is None
        else (
            await db.scalars(
                select(PaymentHistory)
                .where(PaymentHistory.subscription_id == subscription.id)
                .order_by(PaymentHistory.created_at.desc())
            )
        ).all()
    )
    return {
        "exported_at": await db.scalar(select(func.now())),
        "account": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "email_verified": user.email_verified,
            "created_at": user.created_at,
            "updated_at": user.updated_at,
        },
        "subscription": None
        if subscription is None
        else {
            "status": subscription.status,
            "price_per_month": subscription.price_per_month,
            "current_period_start": subscription.current_period_start,
            "current_period_end": subscription.current_period_end,
            "canceled_at": subscription.canceled_at,
            "created_at": subscription.created_at,
        },
        "payments": [
            {
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "created_at": p.created_at,
                "receipt_url": (p.metadata_ or {}).get("receipt_url"),
            }
            for p in payments
        ],
    }


EXPORT_ROWS = 1000
"""Calculations fetched (and written) at a time: the export's memory does not grow with them."""


async def export_chunks(
    engine: AsyncEngine, head: dict[str, Any], user_id: uuid.UUID
) -> AsyncIterator[bytes]:
    """The export as JSON, in pieces: `head`, then "calculations", newest first, read through
    a server-side cursor on a connection of its own."""
    history = calculation_history.c
    query = (
        select(
            history.expression,
            history.result,
            history.metadata,
            history.created_at,
            history.received_at,
            history.device_id,
            history.seq,
            history.deleted_at,
        )
        .where(history.user_id == user_id)
        .order_by(history.created_at.desc())
    )
    yield msgspec.json.encode(head)[:-1] + b',"calculations":['
    separator = b""
    async with engine.connect() as conn:
        rows = await conn.stream(query.execution_options(yield_per=EXPORT_ROWS))
        async for part in rows.mappings().partitions(EXPORT_ROWS):
            yield separator + b",".join(msgspec.json.encode(dict(row)) for row in part)
            separator = b","
    yield b"]}"
