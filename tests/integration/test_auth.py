"""The session lookup behind `request.user` (backend/accounts/auth.py) against the rules it
restates in SQL: premium as backend/entitlements/premium.py decides it, sessions that ended."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from backend.accounts.auth import account_for
from backend.db.engine import create_engine
from backend.entitlements import premium

# The premium rule's edges: each status just inside and just outside its bound.
CASES = [
    (status, end)
    for status in ("active", "trialing", "past_due", "canceled", "incomplete")
    for end in (
        timedelta(days=10),
        timedelta(minutes=1),
        -timedelta(minutes=1),
        -premium.RENEWAL_SLACK + timedelta(minutes=1),
        -premium.RENEWAL_SLACK - timedelta(minutes=1),
        -premium.PAST_DUE_GRACE + timedelta(minutes=1),
        -premium.PAST_DUE_GRACE - timedelta(minutes=1),
    )
]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


async def signed_in_user(engine: AsyncEngine, **session: str) -> tuple[uuid.UUID, str]:
    """A user with a session (its columns overridden by SQL expressions in `session`)."""
    token = secrets.token_urlsafe(32)
    columns = {"expires_at": "now() + interval '30 days'", "last_used_at": "now()", **session}
    async with engine.begin() as conn:
        user_id = await conn.scalar(
            text("INSERT INTO users (email, password_hash) VALUES (:e, 'x') RETURNING id"),
            {"e": f"auth-{uuid.uuid4().hex[:10]}@example.com"},
        )
        await conn.execute(
            text(
                "INSERT INTO user_sessions (token_hash, user_id, expires_at, last_used_at) "
                f"VALUES (:h, :u, {columns['expires_at']}, {columns['last_used_at']})"
            ),
            {"h": hashlib.sha256(token.encode()).digest(), "u": user_id},
        )
    return user_id, token


async def test_premium_in_the_lookup_is_the_billing_rule(engine: AsyncEngine) -> None:
    sessionmaker = async_sessionmaker(engine)
    for status, end in CASES:
        user_id, token = await signed_in_user(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (user_id, stripe_customer_id,"
                    " stripe_subscription_id, status, source, price_per_month,"
                    " current_period_start, current_period_end)"
                    " VALUES (:u, :cus, :sub, :s, 'complimentary', 5,"
                    " now() - interval '30 days', now() + :end)"
                ),
                {
                    "u": user_id,
                    "cus": f"{premium.STAND_IN_PREFIX}{user_id.hex}",
                    "sub": f"{premium.STAND_IN_PREFIX}{user_id.hex}",
                    "s": status,
                    "end": end,
                },
            )
        async with sessionmaker() as db:
            expected = await premium.is_premium(db, user_id)
        account = await account_for(engine, token)
        assert account is not None and account.id == user_id
        assert account.premium is expected, (status, end)


@pytest.mark.parametrize(
    "session",
    [
        {"expires_at": "now() - interval '1 second'"},
        {"last_used_at": "now() - interval '7 days 1 second'"},
    ],
    ids=["expired", "idle"],
)
async def test_an_ended_session_is_nobody(engine: AsyncEngine, session: dict[str, str]) -> None:
    _, token = await signed_in_user(engine, **session)
    assert await account_for(engine, token) is None


async def test_a_deleted_account_or_an_unknown_token_is_nobody(engine: AsyncEngine) -> None:
    user_id, token = await signed_in_user(engine)
    assert await account_for(engine, token) is not None
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET deleted_at = now() WHERE id = :u"), {"u": user_id}
        )
    assert await account_for(engine, token) is None
    assert await account_for(engine, secrets.token_urlsafe(32)) is None


async def test_use_is_noted_every_few_minutes(engine: AsyncEngine) -> None:
    user_id, token = await signed_in_user(engine, last_used_at="now() - interval '1 hour'")
    await account_for(engine, token)
    async with engine.connect() as conn:
        age = await conn.scalar(
            text("SELECT now() - last_used_at FROM user_sessions WHERE user_id = :u"),
            {"u": user_id},
        )
    assert age < timedelta(minutes=1)
