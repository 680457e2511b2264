"""The premium history, newest first, optionally searched (seed Queries 2 and 5, keyset paging).

Over two years of monthly partitions, planning a query costs more than running it
(docs/query-plans.md). The app's connections run generic plans (`plan_cache_mode`, see
backend/db/engine.py): each statement is planned once per connection, and `LIMIT` is a literal (one
statement per page size, `PAGE_SIZES`) so that the one plan fits every call.

A search for 3 or more characters is the exception: whether the trigram index or the
newest-first walk wins depends on how common the term is, which a generic plan cannot know, so
it is planned for its term (a custom plan, in a transaction of its own). A shorter term has no
trigram to look up: it walks the history newest first (generic plan) and stops at a full page.
Searching the newest months first and widening only while the page was short was measured
and dropped: a span's plan per step cost rare terms more than it saved common ones
(docs/benchmarks.md).

Metadata leaves the database as JSON text and goes out as it is (`msgspec.Raw`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sync.protocol import HistoryItem, HistoryPage, Position, encode_cursor

PAGE_SIZES = (10, 50, 100)
PAGE = """
    SELECT id, device_id, seq, created_at, expression, result, metadata::text AS metadata
    FROM calculation_history
    WHERE user_id = :user_id AND deleted_at IS NULL
      AND (created_at, id) < (:before_at, :before_id) {search}
    ORDER BY created_at DESC, id DESC
    LIMIT {limit}
"""
TRIGRAMS = 3  # the shortest term the trigram index can look up
TRIGRAM_SEARCH = "AND expression ILIKE :pattern"
# An expression the trigram index does not cover: a short term has no trigram to look up.
SHORT_SEARCH = "AND (expression || '') ILIKE :pattern"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
# A `before` cursor past what a datetime holds pages from the end (or the start) of time.
EARLIEST_MICROS = (EARLIEST - EPOCH) // MICROSECOND
LATEST_MICROS = (LATEST - EPOCH) // MICROSECOND
LAST_ID = 2**63 - 1


def page_limit(limit: int, sizes: tuple[int, ...]) -> int:
    """The `LIMIT` literal for a page of `limit`: the smallest of `sizes` that holds it, plus
    one row that tells whether a next page exists."""
    return next(size for size in sizes if size >= limit) + 1


def _like_pattern(term: str) -> str:
    """`term` as a substring pattern, LIKE's wildcards escaped ("5%" finds "5%" literally)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def history(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    limit: int,
    before: Position | None,
    q: str | None,
) -> HistoryPage:
    """Seed Queries 2 and 5 with keyset paging (never OFFSET). A search (`q`) needs a
    transaction of its own (it sets its planning with SET LOCAL)."""
    before_at, before_id = LATEST, LAST_ID
    if before:
        micros = min(max(before.first, EARLIEST_MICROS), LATEST_MICROS)
        before_at, before_id = EPOCH + micros * MICROSECOND, before.id
    params = {"user_id": user_id, "before_at": before_at, "before_id": before_id}
    search = ""
    if q:
        params["pattern"] = _like_pattern(q)
        search = SHORT_SEARCH
        if len(q) >= TRIGRAMS:
            await conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            search = TRIGRAM_SEARCH
    sql = PAGE.format(search=search, limit=page_limit(limit, PAGE_SIZES))
    rows = (await conn.execute(text(sql), params)).all()
    return _page(rows, limit)


def _page(rows: Sequence[Row[Any]], limit: int) -> HistoryPage:
    page = rows[:limit]
    items = [
        HistoryItem(
            device_id=row.device_id,
            seq=row.seq,
            created_at=row.created_at,
            expression=row.expression,
            result=row.result,
            metadata=None if row.metadata is None else msgspec.Raw(row.metadata),
        )
        for row in page
    ]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        micros = (last.created_at - EPOCH) // MICROSECOND
        next_cursor = encode_cursor(Position(first=micros, id=last.id))
    return HistoryPage(items=items, next_cursor=next_cursor)
