"""The asyncpg connection under a SQLAlchemy one, inside its transaction when it has one.

The push and the session lookup run on asyncpg itself (prepared once per connection, no ORM
in between). SQLAlchemy's asyncpg dialect sends BEGIN lazily, with the first statement: a
transaction that has run nothing yet is started here, so that what runs on the driver is
inside it.

SQLAlchemy notices a lost connection only in what it runs itself: when a statement on the
driver fails with anything but an error PostgreSQL reported (the connection lost, the server
shutting down, the protocol left mid-operation), the pooled connection is invalidated here,
so that the next request gets a new one instead of this broken one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

# SQLSTATE classes of a connection that cannot go on: 08 connection exception, 57P admin or
# crash shutdown.
_LOST_STATES = ("08", "57P")


def _connection_lost(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        return str(getattr(exc, "sqlstate", "")).startswith(_LOST_STATES)
    return isinstance(exc, OSError | asyncpg.InterfaceError | asyncpg.InternalClientError)


@asynccontextmanager
async def driver(conn: AsyncConnection) -> AsyncIterator[Any]:
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    if conn.in_transaction() and not raw.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    try:
        yield raw
    except BaseException as exc:
        if _connection_lost(exc):
            await conn.invalidate(exc if isinstance(exc, Exception) else None)
        raise
