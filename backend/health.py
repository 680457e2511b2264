"""`GET /api/v1/health`: is the app up, and can it reach its database?"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import msgspec
from litestar import get
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.deps import Provided
from backend.errors import DatabaseUnavailableError

HEALTH_TIMEOUT_SECONDS = 3.0


class DatabaseHealth(msgspec.Struct, frozen=True):
    status: Literal["ok"]
    latency_ms: float
    server_version: str


class Health(msgspec.Struct, frozen=True):
    status: Literal["ok"]
    database: DatabaseHealth


async def database_health(engine: AsyncEngine) -> DatabaseHealth:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise DatabaseUnavailableError(
            "The database is unreachable", headers={"Retry-After": "5"}
        ) from exc
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return DatabaseHealth(status="ok", latency_ms=latency_ms, server_version=str(version))


@get(
    "/health",
    summary="Liveness and database reachability",
    description="200 with the database's state; 503 `database_unavailable` when it is unreachable.",
    tags=["operations"],
    cache_control=None,
)
async def health(engine: Provided[AsyncEngine]) -> Health:
    return Health(status="ok", database=await database_health(engine))
