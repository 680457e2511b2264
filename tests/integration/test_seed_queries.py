"""The data-architecture document's queries (section 3) run unchanged against the schema.

The SQL below is copied verbatim from the seed document, parameters and all. With enough rows
in the tables, `EXPLAIN` must show the index the document names for Queries 1-4.
"""

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from backend.db.server import connect
from testkit.support import migrated_database, rolled_back, run_async

pytestmark = pytest.mark.db

QUERY_1_USER_BY_EMAIL = """
SELECT id, email, password_hash, email_verified, display_name
FROM users
WHERE email = $1 AND deleted_at IS NULL;
"""

QUERY_2_RECENT_HISTORY = """
SELECT id, expression, result, metadata, created_at
FROM calculation_history
WHERE user_id = $1
ORDER BY created_at DESC
LIMIT 100;
"""

QUERY_3_ACTIVE_SUBSCRIPTION = """
SELECT s.*, u.email
FROM subscriptions s
JOIN users u ON s.user_id = u.id
WHERE s.user_id = $1 AND s.status = 'active';
"""

QUERY_4_PAYMENT_HISTORY = """
SELECT id, stripe_payment_intent_id, amount, currency, status, created_at
FROM payment_history
WHERE subscription_id = $1
ORDER BY created_at DESC
LIMIT 12;  -- Last 12 months
"""

QUERY_5_SEARCH = """
SELECT id, expression, result, created_at
FROM calculation_history
WHERE user_id = $1
  AND expression ILIKE '%' || $2 || '%'
ORDER BY created_at DESC
LIMIT 50;
"""

WRITE_INSERT_CALCULATION = """
INSERT INTO calculation_history (user_id, expression, result, metadata)
VALUES ($1, $2, $3, $4)
RETURNING id, created_at;
"""

WRITE_UPDATE_SUBSCRIPTION_STATUS = """
UPDATE subscriptions
SET status = $1, updated_at = NOW()
WHERE stripe_subscription_id = $2
RETURNING id, user_id;
"""

WRITE_SOFT_DELETE_USER = """
UPDATE users
SET deleted_at = NOW(), updated_at = NOW()
WHERE id = $1 AND deleted_at IS NULL
RETURNING id;
"""

USERS = 2000
HISTORY_USERS = 200
CALCULATIONS_PER_USER = 300
PAYMENTS_PER_SUBSCRIPTION = 12

FILL = f"""
INSERT INTO users (email, password_hash, display_name, email_verified)
SELECT 'user' || i || '@example.com', '$2b$12$' || repeat('x', 53), 'User ' || i, i % 2 = 0
FROM generate_series(1, {USERS}) AS i;

INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id, status,
                           price_per_month, current_period_start, current_period_end)
SELECT id, 'cus_' || id, 'sub_' || id,
       (ARRAY['active', 'active', 'active', 'canceled', 'past_due'])[1 + row_number() OVER () % 5],
       5.00, now(), now() + interval '1 month'
FROM users;

INSERT INTO payment_history (subscription_id, stripe_payment_intent_id, amount, status, created_at)
SELECT s.id, 'pi_' || s.id || '_' || m, 5.00, 'succeeded', now() - make_interval(months => m)
FROM subscriptions s, generate_series(1, {PAYMENTS_PER_SUBSCRIPTION}) AS m;

-- Rows as sync writes them: one device per user, seq and version counting up.
INSERT INTO calculation_history (user_id, expression, result, metadata, created_at,
                                 device_id, seq, op_id, version)
SELECT u.id, n || ' + ' || n, (2 * n)::text, jsonb_build_object('operator', '+'),
       date_trunc('month', now()) + make_interval(secs => n),
       u.device_id, n, gen_random_uuid(), n
FROM (SELECT id, gen_random_uuid() AS device_id
      FROM users ORDER BY email LIMIT {HISTORY_USERS}) AS u,
     generate_series(1, {CALCULATIONS_PER_USER}) AS n;

ANALYZE users, subscriptions, payment_history, calculation_history;
"""


@pytest.fixture(scope="module")
def filled_url(make_database: Callable[[], str]) -> str:
    """A database of its own with a few thousand rows, filled once for this module."""
    url = migrated_database(make_database)

    async def fill() -> None:
        connection = await connect(url)
        try:
            await connection.execute(FILL)
        finally:
            await connection.close()

    run_async(fill())
    return url


@pytest.fixture
async def filled(filled_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the filled database, inside a transaction rolled back after the test."""
    async with rolled_back(filled_url) as connection:
        yield connection


def index_names(plan: Any) -> Iterator[str]:
    if isinstance(plan, dict):
        if "Index Name" in plan:
            yield plan["Index Name"]
        for value in plan.values():
            yield from index_names(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from index_names(item)


async def indexes_used(conn: asyncpg.Connection, query: str, *args: object) -> set[str]:
    """Index names in the plan, with each partition's index mapped to the parent's name too."""
    plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {query}", *args))
    names = set(index_names(plan))
    parents = await conn.fetch(
        """SELECT parent.relname FROM pg_inherits i
           JOIN pg_class child ON child.oid = i.inhrelid
           JOIN pg_class parent ON parent.oid = i.inhparent
           WHERE child.relname = ANY($1::text[])""",
        list(names),
    )
    return names | {row[0] for row in parents}


async def some_user(conn: asyncpg.Connection) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """SELECT u.id, u.email, s.id AS subscription_id, s.stripe_subscription_id
           FROM users u JOIN subscriptions s ON s.user_id = u.id
           WHERE s.status = 'active' AND u.id IN (SELECT user_id FROM calculation_history)
           ORDER BY u.email LIMIT 1"""
    )
    return row


async def test_query_1_finds_a_user_by_email_case_insensitively(filled: asyncpg.Connection) -> None:
    user = await some_user(filled)
    rows = await filled.fetch(QUERY_1_USER_BY_EMAIL, user["email"].upper())
    assert [row["id"] for row in rows] == [user["id"]]
    assert "idx_users_email" in await indexes_used(filled, QUERY_1_USER_BY_EMAIL, user["email"])


async def test_query_2_returns_the_newest_100(filled: asyncpg.Connection) -> None:
    user = await some_user(filled)
    rows = await filled.fetch(QUERY_2_RECENT_HISTORY, user["id"])
    assert len(rows) == 100
    assert rows[0]["expression"] == f"{CALCULATIONS_PER_USER} + {CALCULATIONS_PER_USER}"
    assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
    assert "idx_calc_history_user_created" in await indexes_used(
        filled, QUERY_2_RECENT_HISTORY, user["id"]
    )


async def test_query_3_joins_the_active_subscription(filled: asyncpg.Connection) -> None:
    user = await some_user(filled)
    rows = await filled.fetch(QUERY_3_ACTIVE_SUBSCRIPTION, user["id"])
    assert [(row["id"], row["email"]) for row in rows] == [(user["subscription_id"], user["email"])]
    assert "idx_subscriptions_user_id" in await indexes_used(
        filled, QUERY_3_ACTIVE_SUBSCRIPTION, user["id"]
    )


async def test_query_4_lists_the_last_12_payments(filled: asyncpg.Connection) -> None:
    user = await some_user(filled)
    rows = await filled.fetch(QUERY_4_PAYMENT_HISTORY, user["subscription_id"])
    assert len(rows) == PAYMENTS_PER_SUBSCRIPTION
    assert rows[0]["currency"] == "usd"
    assert "idx_payment_history_subscription_id" in await indexes_used(
        filled, QUERY_4_PAYMENT_HISTORY, user["subscription_id"]
    )


async def test_query_5_searches_expressions_case_insensitively(filled: asyncpg.Connection) -> None:
    user = await some_user(filled)
    rows = await filled.fetch(QUERY_5_SEARCH, user["id"], "299 +")
    assert [row["expression"] for row in rows] == ["299 + 299"]


async def test_write_patterns(filled: asyncpg.Connection) -> None:
    user = await some_user(filled)

    inserted = await filled.fetchrow(
        WRITE_INSERT_CALCULATION, user["id"], "7 + 3", "10", json.dumps({"operator": "+"})
    )
    assert inserted["id"] > 0 and inserted["created_at"] is not None

    updated = await filled.fetchrow(
        WRITE_UPDATE_SUBSCRIPTION_STATUS, "past_due", user["stripe_subscription_id"]
    )
    assert (updated["id"], updated["user_id"]) == (user["subscription_id"], user["id"])

    assert await filled.fetchval(WRITE_SOFT_DELETE_USER, user["id"]) == user["id"]
    assert await filled.fetchval(WRITE_SOFT_DELETE_USER, user["id"]) is None  # only once
    assert await filled.fetch(QUERY_1_USER_BY_EMAIL, user["email"]) == []


async def test_invalid_subscription_status_update_changes_nothing(
    filled: asyncpg.Connection,
) -> None:
    user = await some_user(filled)
    with pytest.raises(asyncpg.CheckViolationError):
        async with filled.transaction():
            await filled.execute(
                WRITE_UPDATE_SUBSCRIPTION_STATUS, "paused", user["stripe_subscription_id"]
            )
    status = await filled.fetchval(
        "SELECT status FROM subscriptions WHERE id = $1", user["subscription_id"]
    )
    assert status == "active"
