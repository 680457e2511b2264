"""Monthly partitions of `calculation_history`, made by the SQL functions of the migrations.

Partitions are made ahead of need: by the server at start-up and on a schedule (the current
month and three ahead), by `calcapp partitions ensure`, and, for a month inside the live
window that still lacks one (a device back from months offline), by `Partitions.prepare` in a
short transaction of its own before the push. The push itself never runs DDL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

LOCK_TIMEOUT = "2s"
"""How long making a partition before a push may wait for its locks (then: 503, retry)."""
MONTHS_AHEAD = 3

ENSURE_MONTHS = text(
    "SELECT ensure_calculation_history_partition(m) "
    "FROM unnest(CAST(:months AS timestamptz[])) AS m"
)
# Months outside the live window are left alone: their ops halt with clock_out_of_range.
ENSURE_IN_WINDOW = text(
    """
    SELECT m AS month, ensure_calculation_history_partition(m) AS name
    FROM unnest(CAST(:months AS timestamptz[])) AS m
    WHERE m >= sync_window_start() AND m <= now() + interval '24 hours'
    """
)
UPKEEP = text(
    """
    SELECT ensure_calculation_history_partitions(:months_ahead)
    WHERE pg_try_advisory_xact_lock(hashtext('calcapp: partition upkeep'))
    """
)


def month_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


async def ensure_partitions(conn: AsyncConnection, moments: Iterable[datetime]) -> None:
    """Make sure a partition exists for the month (UTC) of every moment given."""
    months = sorted({month_start(m) for m in moments})
    if months:
        await conn.execute(ENSURE_MONTHS, {"months": months})


async def upkeep(engine: AsyncEngine, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """The current month's partition and `months_ahead` more; skipped (returns []) while
    another process does the same."""
    async with engine.begin() as conn:
        return [
            str(name)
            for name in (await conn.execute(UPKEEP, {"months_ahead": months_ahead})).scalars()
        ]


class Partitions:
    """The months this process knows have a partition, and making the missing ones."""

    def __init__(self) -> None:
        self.known: set[datetime] = set()

    def unknown(self, moments: Iterable[datetime]) -> set[datetime]:
        """The months of these moments not known to have a partition (no I/O)."""
        seen = {(m.astimezone(UTC).year, m.astimezone(UTC).month) for m in moments}
        return {datetime(year, month, 1, tzinfo=UTC) for year, month in seen} - self.known

    async def prepare(self, engine: AsyncEngine, moments: Iterable[datetime]) -> None:
        """Make the partitions of these moments' months that are missing and inside the live
        window, in a transaction of their own that waits at most LOCK_TIMEOUT for its locks
        (`sqlalchemy.exc.OperationalError` then)."""
        months = self.unknown(moments)
        if not months:
            return
        async with engine.begin() as conn:
            await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            made = await conn.execute(ENSURE_IN_WINDOW, {"months": sorted(months)})
            ready = {row.month for row in made}
        self.known |= ready
