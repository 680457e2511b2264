"""Alembic environment: runs migrations over an async (asyncpg) connection.

The database URL comes from `config.attributes["database_url"]`, set by `backend.db.migrations`;
nothing here reads the environment.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine

from backend.models import Base
from sync.tables import metadata as sync_metadata

config = context.config
target_metadata: list[MetaData] = [Base.metadata, sync_metadata]


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url: str = config.attributes["database_url"]
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit(
        "offline (--sql) migrations are not supported: partitions need a live database"
    )
run()
