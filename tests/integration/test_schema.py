"""Constraints, cascades and partitions of the migrated schema behave as the seed document says."""

import asyncio
import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum

import asyncpg
import pytest

from backend.db.server import connect
from backend.entitlements.models import SubscriptionSource, SubscriptionStatus

pytestmark = pytest.mark.db


async def add_user(conn: asyncpg.Connection, email: str = "ada@example.com") -> uuid.UUID:
    user_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id",
        email,
        "$2b$12$" + "x" * 53,
    )
    return user_id


async def add_subscription(conn: asyncpg.Connection, user_id: uuid.UUID, status: str) -> uuid.UUID:
    subscription_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id, status,
               price_per_month, current_period_start, current_period_end)
           VALUES ($1, $2, $3, $4, 5.00, now(), now() + interval '1 month') RETURNING id""",
        user_id,
        f"cus_{uuid.uuid4().hex}",
        f"sub_{uuid.uuid4().hex}",
        status,
    )
    return subscription_id


async def test_defaults_fill_what_the_seed_says(conn: asyncpg.Connection) -> None:
    user = await conn.fetchrow("SELECT * FROM users WHERE id = $1", await add_user(conn))
    assert user["email_verified"] is False
    assert user["created_at"] is not None and user["updated_at"] is not None
    assert user["deleted_at"] is None


@pytest.mark.parametrize(
    "email",
    ["no-at-sign.example.com", "ada@example", "ada@@example.com", "a" * 250 + "@example.com"],
)
async def test_bad_email_is_rejected(conn: asyncpg.Connection, email: str) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await add_user(conn, email)


async def test_email_is_unique_case_insensitively_among_live_accounts(
    conn: asyncpg.Connection,
) -> None:
    first = await add_user(conn, "Ada@Example.com")
    with pytest.raises(asyncpg.UniqueViolationError):
        async with conn.transaction():
            await add_user(conn, "ada@example.COM")
    # Once the account is soft-deleted (GDPR), the address may sign up again.
    await conn.execute("UPDATE users SET deleted_at = now() WHERE id = $1", first)
    assert await add_user(conn, "ada@example.com") != first


async def test_expression_over_500_characters_is_rejected(conn: asyncpg.Connection) -> None:
    user_id = await add_user(conn)
    insert = "INSERT INTO calculation_history (user_id, expression, result) VALUES ($1, $2, '1')"
    await conn.execute(insert, user_id, "1" * 500)
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        await conn.execute(insert, user_id, "1" * 501)


async def test_unknown_subscription_status_is_rejected(conn: asyncpg.Connection) -> None:
    user_id = await add_user(conn)
    with pytest.raises(asyncpg.CheckViolationError):
        await add_subscription(conn, user_id, "paused")


@pytest.mark.parametrize(
    ("constraint", "values"),
    [
        ("ck_subscriptions_status", SubscriptionStatus),
        ("ck_subscriptions_source", SubscriptionSource),
    ],
)
async def test_the_subscription_constraints_allow_exactly_the_code_s_values(
    conn: asyncpg.Connection, constraint: str, values: type[StrEnum]
) -> None:
    """The migration's check constraints and the enums the code uses name the same values."""
    definition = await conn.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1", constraint
    )
    assert sorted(re.findall(r"'(\w+)'", definition)) == sorted(values)


async def test_unknown_payment_status_is_rejected(conn: asyncpg.Connection) -> None:
    subscription_id = await add_subscription(conn, await add_user(conn), "active")
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            """INSERT INTO payment_history
                   (subscription_id, stripe_payment_intent_id, amount, status)
               VALUES ($1, 'pi_1', 5.00, 'refunded')""",
            subscription_id,
        )


async def test_one_subscription_per_user(conn: asyncpg.Connection) -> None:
    user_id = await add_user(conn)
    await add_subscription(conn, user_id, "active")
    with pytest.raises(asyncpg.UniqueViolationError):
        await add_subscription(conn, user_id, "trialing")


async def test_sync_identity_is_all_or_nothing(conn: asyncpg.Connection) -> None:
    user_id = await add_user(conn)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            """INSERT INTO calculation_history (user_id, expression, result, device_id)
               VALUES ($1, '1+1', '2', gen_random_uuid())""",
            user_id,
        )


async def test_same_device_seq_and_time_is_stored_once(conn: asyncpg.Connection) -> None:
    user_id, device_id = await add_user(conn), uuid.uuid4()
    insert = """INSERT INTO calculation_history
                    (user_id, expression, result, device_id, seq, op_id, created_at)
                VALUES ($1, '1+1', '2', $2, 1, gen_random_uuid(), $3)
                ON CONFLICT DO NOTHING RETURNING id"""
    now = await conn.fetchval("SELECT now()")  # the database's clock: its month has a partition
    assert await conn.fetchval(insert, user_id, device_id, now) is not None
    assert await conn.fetchval(insert, user_id, device_id, now) is None


async def test_hard_delete_cascades_to_everything_the_user_owns(conn: asyncpg.Connection) -> None:
    user_id = await add_user(conn)
    subscription_id = await add_subscription(conn, user_id, "active")
    await conn.execute(
        """INSERT INTO payment_history
                   (subscription_id, stripe_payment_intent_id, amount, status)
           VALUES ($1, 'pi_cascade', 5.00, 'succeeded')""",
        subscription_id,
    )
    await conn.execute(
        "INSERT INTO calculation_history (user_id, expression, result) VALUES ($1, '2*3', '6')",
        user_id,
    )
    await conn.execute(
        "INSERT INTO sync_device (device_id, user_id) VALUES ($1, $2)", uuid.uuid4(), user_id
    )
    await conn.execute("INSERT INTO sync_user (user_id) VALUES ($1)", user_id)

    await conn.execute("DELETE FROM users WHERE id = $1", user_id)

    for table, column in [
        ("subscriptions", "user_id"),
        ("calculation_history", "user_id"),
        ("sync_device", "user_id"),
        ("sync_user", "user_id"),
    ]:
        count = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", user_id)
        assert count == 0, table
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM payment_history WHERE subscription_id = $1", subscription_id
        )
        == 0
    )


async def test_migration_created_this_month_and_the_next_three(conn: asyncpg.Connection) -> None:
    partitions = {
        row[0]
        for row in await conn.fetch(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'calculation_history'::regclass"""
        )
    }
    now = datetime.now(UTC)
    expected = set()
    for ahead in range(4):
        year, month = divmod(now.month - 1 + ahead, 12)
        expected.add(f"calculation_history_{now.year + year}_{month + 1:02d}")
    assert expected <= partitions


async def test_a_month_without_partition_works_once_the_function_ran(
    conn: asyncpg.Connection,
) -> None:
    user_id = await add_user(conn)
    insert = """INSERT INTO calculation_history (user_id, expression, result, created_at)
                VALUES ($1, '1+2', '3', '2019-03-31T23:30:00-02:00') RETURNING created_at"""
    with pytest.raises(asyncpg.CheckViolationError, match="no partition"):
        async with conn.transaction():
            await conn.execute(insert, user_id)

    # 23:30 at UTC-2 is 01:30 UTC on 1 April: the partition is April's, by UTC month.
    name = await conn.fetchval(
        "SELECT ensure_calculation_history_partition('2019-03-31T23:30:00-02:00')"
    )
    assert name == "calculation_history_2019_04"
    assert await conn.fetchval(insert, user_id) == datetime(2019, 4, 1, 1, 30, tzinfo=UTC)
    await conn.execute("SET LOCAL timezone = 'UTC'")
    bounds = await conn.fetchval(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class"
        " WHERE relname = 'calculation_history_2019_04'"
    )
    assert bounds == "FOR VALUES FROM ('2019-04-01 00:00:00+00') TO ('2019-05-01 00:00:00+00')"
    # Running it again for the same month changes nothing.
    assert await conn.fetchval("SELECT ensure_calculation_history_partition('2019-04-15')") == name


async def test_concurrent_partition_creation_for_one_month_is_safe(database_url: str) -> None:
    month = "2199-07-15T00:00:00Z"

    async def ensure() -> str:
        connection = await connect(database_url)
        try:
            result: str = await connection.fetchval(
                "SELECT ensure_calculation_history_partition($1::timestamptz)",
                datetime.fromisoformat(month),
            )
            return result
        finally:
            await connection.close()

    try:
        assert (
            await asyncio.gather(*[ensure() for _ in range(8)])
            == ["calculation_history_2199_07"] * 8
        )
    finally:
        connection = await connect(database_url)
        await connection.execute("DROP TABLE IF EXISTS calculation_history_2199_07")
        await connection.close()
