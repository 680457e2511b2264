"""Monthly partitions of `calculation_history`, made by the SQL functions of the migrations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ENSURE_MONTHS = text(
    "SELECT ensure_calculation_history_partition(m) "
    "FROM unnest(CAST(:months AS timestamptz[])) AS m"
)


def month_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


async def ensure_partitions(conn: AsyncConnection, moments: Iterable[datetime]) -> None:
    """Make sure a partition exists for the month (UTC) of every moment given."""
    months = sorted({month_start(m) for m in moments})
    if months:
        await conn.execute(ENSURE_MONTHS, {"months": months})
