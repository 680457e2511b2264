"""Rate limits shared by every server process: fixed-window counters in PostgreSQL.

Each check runs in its own short transaction, so an attempt counts even when the request it
belongs to fails and rolls back (a wrong password is exactly what must be counted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Integer, String, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import Base
from backend.errors import AppError

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


class RateLimitedError(AppError):
    status_code = 429
    code = "rate_limited"


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    hits: int
    window: timedelta


async def check(engine: AsyncEngine, limit: Limit, key: str) -> None:
    """Count one attempt for `key` under `limit`; raise `RateLimitedError` beyond it."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(HIT, {"bucket": f"{limit.name}:{key}"[:320], "window": limit.window})
        ).one()
    hits: int = row.hits
    if hits > limit.hits:
        window_start: datetime = row.window_start
        retry_after = max(1, math.ceil((window_start + limit.window - row.now).total_seconds()))
        minutes = math.ceil(retry_after / 60)
        raise RateLimitedError(
            f"Too many attempts: try again in {minutes} minute{'s' if minutes != 1 else ''}",
            headers={"Retry-After": str(retry_after)},
        )
