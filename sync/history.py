"""The premium history, newest first, optionally searched (seed Queries 2 and 5, keyset paging)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sync.protocol import HistoryItem, HistoryPage, Position, encode_cursor

HISTORY_PAGE = """
    SELECT id, device_id, seq, created_at, expression, result, metadata
    FROM calculation_history
    WHERE user_id = :user_id AND deleted_at IS NULL {search} {before}
    ORDER BY created_at DESC, id DESC
    LIMIT :limit
"""
SEARCH = "AND expression ILIKE '%' || :q || '%'"
BEFORE = "AND (created_at, id) < (:before_at, :before_id)"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# A `before` cursor past what a datetime holds pages from the end (or the start) of time.
EARLIEST_MICROS = (datetime.min.replace(tzinfo=UTC) - EPOCH) // MICROSECOND
LATEST_MICROS = (datetime.max.replace(tzinfo=UTC) - EPOCH) // MICROSECOND


def _like_literal(term: str) -> str:
    """`term` with LIKE's wildcards escaped, so a search for "5%" finds "5%" literally."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def history(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    limit: int,
    before: Position | None,
    q: str | None,
) -> HistoryPage:
    """Seed Queries 2 and 5 with keyset paging (never OFFSET)."""
    params: dict[str, object] = {"user_id": user_id, "limit": limit + 1}
    if q:
        # A generic plan (chosen after five runs of a prepared statement) cannot use the
        # trigram index for a parameter it has not seen: always plan for the actual term.
        await conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        params["q"] = _like_literal(q)
    if before:
        micros = min(max(before.first, EARLIEST_MICROS), LATEST_MICROS)
        params.update(before_at=EPOCH + micros * MICROSECOND, before_id=before.id)
    sql = HISTORY_PAGE.format(search=SEARCH if q else "", before=BEFORE if before else "")
    rows = (await conn.execute(text(sql), params)).all()
    page = rows[:limit]
    items = [
        HistoryItem(
            device_id=row.device_id,
            seq=row.seq,
            created_at=row.created_at,
            expression=row.expression,
            result=row.result,
            metadata=row.metadata,
        )
        for row in page
    ]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        micros = (last.created_at - EPOCH) // MICROSECOND
        next_cursor = encode_cursor(Position(first=micros, id=last.id))
    return HistoryPage(items=items, next_cursor=next_cursor)
