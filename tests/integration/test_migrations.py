"""The schema comes only from the migrations: up from empty, down to empty, matching the models."""

from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from backend.db import migrations as migrate
from backend.db.server import connect
from backend.models import Base
from sync.tables import metadata as sync_metadata
from testkit.support import in_thread, migrated_database, run_async

pytestmark = pytest.mark.db

SCHEMA_OBJECTS = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'i', 'I', 'S', 'v')
    UNION ALL SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
    UNION ALL SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'
"""


async def schema_objects(url: str) -> set[str]:
    conn = await connect(url)
    try:
        return {row[0] for row in await conn.fetch(SCHEMA_OBJECTS)}
    finally:
        await conn.close()


def test_upgrade_from_empty_then_downgrade_to_base(make_database: Callable[[], str]) -> None:
    url = make_database()
    assert run_async(schema_objects(url)) == set()

    in_thread(migrate.upgrade, url)
    objects = run_async(schema_objects(url))
    expected_tables = {
        "users",
        "subscriptions",
        "calculation_history",
        "payment_history",
        "sync_device",
        "sync_user",
        "alembic_version",
    }
    assert expected_tables <= objects
    assert {"citext", "pg_trgm", "ensure_calculation_history_partition"} <= objects

    in_thread(migrate.downgrade, url, "base")
    assert run_async(schema_objects(url)) == {"alembic_version", "alembic_version_pkc"}

    migrate.upgrade(url)  # and the way back up works again
    assert expected_tables <= run_async(schema_objects(url))


def test_models_match_the_migrated_schema(database_url: str) -> None:
    """Columns, types and nullability of the ORM and Core definitions equal the real tables."""

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": lambda obj, name, kind, reflected, compare_to: (
                    kind in {"table", "column"}
                    and not (kind == "table" and name is not None and name[-7:-3].isdigit())
                ),
            },
        )
        metadatas = [Base.metadata, sync_metadata]  # a list is accepted; the stub says one
        return list(compare_metadata(context, metadatas))  # type: ignore[arg-type]

    async def run() -> list[Any]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(diff)
        finally:
            await engine.dispose()

    differences = [
        d
        for d in run_async(run())
        if not (d[0] == "remove_table" and d[1].name == "alembic_version")
    ]
    assert differences == []


def test_complimentary_subscriptions_get_their_source(make_database: Callable[[], str]) -> None:
    """0010: the rows the `comp_` stand-in ids marked become `complimentary`, the others
    `stripe`."""
    url = migrated_database(make_database, "0009_push_path")

    async def fill() -> None:
        conn = await connect(url)
        try:
            for prefix, email in (("comp_", "granted@example.com"), ("", "paid@example.com")):
                await conn.execute(
                    """WITH u AS (INSERT INTO users (email, password_hash) VALUES ($1, 'x')
                                  RETURNING id)
                       INSERT INTO subscriptions (user_id, stripe_customer_id,
                           stripe_subscription_id, status, price_per_month,
                           current_period_start, current_period_end)
                       SELECT id, $2 || 'cus_' || id, $2 || 'sub_' || id, 'active', 5, now(),
                              now() + interval '1 month' FROM u""",
                    email,
                    prefix,
                )
        finally:
            await conn.close()

    async def sources() -> dict[str, str]:
        conn = await connect(url)
        try:
            rows = await conn.fetch(
                "SELECT u.email, s.source FROM subscriptions s JOIN users u ON u.id = s.user_id"
            )
            return {row["email"]: row["source"] for row in rows}
        finally:
            await conn.close()

    run_async(fill())
    in_thread(migrate.upgrade, url)
    assert run_async(sources()) == {
        "granted@example.com": "complimentary",
        "paid@example.com": "stripe",
    }
