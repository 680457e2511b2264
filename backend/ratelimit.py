"""Rate limits shared by every server process: fixed-window counters in PostgreSQL.

Each count runs in its own short transaction, so an attempt counts even when the request it
belongs to fails and rolls back (a wrong password is exactly what must be counted). `check`
counts every attempt; `refuse_if_spent` and `count` count only failures (a wrong password),
so that an attempt that succeeds never uses up someone's allowance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Integer, String, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import Base
from backend.web.errors import AppError

rate_limits = Table(
    "rate_limits",
    Base.metadata,
    Column("bucket", String(320), primary_key=True),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("hits", Integer, nullable=False),
)

HIT = text(
    """
    INSERT INTO rate_limits AS r (bucket, window_start, hits) VALUES (:bucket, now(), 1)
    ON CONFLICT (bucket) DO UPDATE SET
        window_start = CASE WHEN r.window_start <= now() - CAST(:window AS interval)
                            THEN now() ELSE r.window_start END,
        hits = CASE WHEN r.window_start <= now() - CAST(:window AS interval)
                    THEN 1 ELSE r.hits + 1 END
    RETURNING hits, window_start, now() AS now
    """
)


CURRENT = text(
    """
    SELECT hits, window_start, now() AS now FROM rate_limits
    WHERE bucket = :bucket AND window_start > now() - CAST(:window AS interval)
    """
)


class RateLimitedError(AppError):
    status_code = 429
    code = "rate_limited"
    doc = "too many attempts; `Retry-After` says in how many seconds to try again"


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    hits: int
    window: timedelta


def _bucket(limit: Limit, key: str) -> str:
    return f"{limit.name}:{key}"[:320]


def _refuse(limit: Limit, window_start: datetime, now: datetime) -> RateLimitedError:
    retry_after = max(1, math.ceil((window_start + limit.window - now).total_seconds()))
    minutes = math.ceil(retry_after / 60)
    return RateLimitedError(
        f"Too many attempts: try again in {minutes} minute{'s' if minutes != 1 else ''}",
        headers={"Retry-After": str(retry_after)},
    )


async def count(engine: AsyncEngine, limit: Limit, key: str) -> int:
    """Count one attempt (or failure) for `key` under `limit`; returns the count so far."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(HIT, {"bucket": _bucket(limit, key), "window": limit.window})
        ).one()
    hits: int = row.hits
    return hits


async def check(engine: AsyncEngine, limit: Limit, key: str) -> None:
    """Count one attempt for `key` under `limit`; raise `RateLimitedError` beyond it."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(HIT, {"bucket": _bucket(limit, key), "window": limit.window})
        ).one()
    if row.hits > limit.hits:
        raise _refuse(limit, row.window_start, row.now)


async def spent(engine: AsyncEngine, limit: Limit, key: str) -> int:
    """How many attempts `key` has made in the current window (nothing is counted)."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        row = (
            await conn.execute(CURRENT, {"bucket": _bucket(limit, key), "window": limit.window})
        ).one_or_none()
    return 0 if row is None else int(row.hits)


async def refuse_if_spent(engine: AsyncEngine, limit: Limit, key: str) -> None:
    """Raise `RateLimitedError` when `key` has used up `limit` (nothing is counted)."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        row = (
            await conn.execute(CURRENT, {"bucket": _bucket(limit, key), "window": limit.window})
        ).one_or_none()
    if row is not None and row.hits >= limit.hits:
        raise _refuse(limit, row.window_start, row.now)
