"""The asyncpg connection under a SQLAlchemy one, inside its transaction.

The push statements run on asyncpg itself (prepared once per connection, no ORM in between).
SQLAlchemy's asyncpg dialect sends BEGIN lazily, with the first statement: a transaction that
has run nothing yet is started here, so that what runs on the driver is inside it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


async def driver(conn: AsyncConnection) -> Any:
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    if conn.in_transaction() and not raw.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    return raw
