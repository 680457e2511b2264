"""Push and pull against PostgreSQL: each push is one transaction of a few set-based statements.

Push locks the user's `sync_user` row, then the device's `sync_device` row (always in that
order, so concurrent pushes queue instead of deadlocking). `sync_device.last_seq` is the
authoritative record of what the device's ops have settled to; it moves in the same
transaction as the rows, so a crash before COMMIT applies nothing and a retry after it
answers `duplicate`. Every push that changes something takes the next per-user `version`
under the user's lock, so versions commit in order and pull can page on them safely.

The caller owns the transaction (it commits or rolls back); nothing here imports the backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sync.partitions import ensure_partitions
from sync.protocol import (
    Halt,
    HistoryItem,
    HistoryPage,
    Op,
    OpResult,
    ParsedOp,
    Position,
    PullItem,
    PullResponse,
    PushResponse,
    clock_in_range,
    encode_cursor,
)


class DeviceOfAnotherUserError(Exception):
    """The device id is registered to another account."""


class CursorExpiredError(Exception):
    """The cursor points past what the server holds (say, after a restore): start over."""


LOCK_USER = text(
    """
    INSERT INTO sync_user (user_id) VALUES (:user_id)
    ON CONFLICT (user_id) DO UPDATE SET updated_at = now()
    RETURNING version, now() AS now
    """
)
LOCK_DEVICE = text(
    """
    INSERT INTO sync_device (device_id, user_id) VALUES (:device_id, :user_id)
    ON CONFLICT (device_id) DO UPDATE SET updated_at = now()
    RETURNING user_id, last_seq
    """
)
SETTLED_OPS = text(
    """
    SELECT seq, op_id FROM calculation_history
    WHERE user_id = :user_id AND device_id = :device_id AND seq = ANY(CAST(:seqs AS bigint[]))
    """
)
INSERT_CREATES = text(
    """
    INSERT INTO calculation_history
        (user_id, device_id, seq, op_id, created_at, expression, result, metadata, version)
    SELECT :user_id, :device_id, o.seq, o.op_id, o.created_at, o.expression, o.result,
           CAST(o.metadata AS jsonb), :version
    FROM unnest(CAST(:seqs AS bigint[]), CAST(:op_ids AS uuid[]),
                CAST(:created AS timestamptz[]), CAST(:expressions AS text[]),
                CAST(:results AS text[]), CAST(:metadata AS text[]))
         AS o(seq, op_id, created_at, expression, result, metadata)
    ON CONFLICT DO NOTHING
    """
)
APPLY_DELETES = text(
    """
    UPDATE calculation_history AS h
    SET deleted_at = d.deleted_at, version = :version
    FROM unnest(CAST(:devices AS uuid[]), CAST(:seqs AS bigint[]),
                CAST(:created AS timestamptz[]), CAST(:deleted AS timestamptz[]))
         AS d(device_id, seq, created_at, deleted_at)
    WHERE h.user_id = :user_id AND h.device_id = d.device_id AND h.seq = d.seq
      AND h.created_at = d.created_at AND h.deleted_at IS NULL
    """
)
SETTLE_DEVICE = text("UPDATE sync_device SET last_seq = :last_seq WHERE device_id = :device_id")
BUMP_VERSION = text("UPDATE sync_user SET version = :version WHERE user_id = :user_id")


@dataclass
class _Batch:
    """What a push decided, before writing it."""

    results: list[OpResult] = field(default_factory=list)
    creates: list[Op] = field(default_factory=list)
    deletes: list[Op] = field(default_factory=list)
    halted: Halt | None = None
    last_seq: int = 0


def _plan(ops: Sequence[ParsedOp], last_seq: int, now: datetime) -> tuple[_Batch, list[ParsedOp]]:
    """Walk the ops in seq order: what to apply, what is settled already, where to halt."""
    batch = _Batch(last_seq=last_seq)
    settled: list[ParsedOp] = []
    for parsed in sorted(ops, key=lambda p: p.seq):
        if parsed.seq <= batch.last_seq:
            settled.append(parsed)
            continue
        if parsed.seq > batch.last_seq + 1:
            batch.halted = Halt(seq=parsed.seq, reason="gap", expected_seq=batch.last_seq + 1)
            break
        op = parsed.op
        if op is None:
            batch.results.append(OpResult(parsed.seq, "rejected", parsed.problem))
        elif not clock_in_range(op.created_at, now):
            batch.halted = Halt(seq=parsed.seq, reason="clock_out_of_range")
            break
        else:
            (batch.creates if op.kind == "create" else batch.deletes).append(op)
            batch.results.append(OpResult(parsed.seq, "applied"))
        batch.last_seq = parsed.seq
    return batch, settled


async def _settled_results(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    settled: list[ParsedOp],
    batch: _Batch,
) -> list[OpResult]:
    """`duplicate` for ops already settled, or `conflict` when a stored op has another id."""
    if not settled:
        return []
    known: dict[int, uuid.UUID] = {op.seq: op.op_id for op in batch.creates + batch.deletes}
    rows = await conn.execute(
        SETTLED_OPS,
        {"user_id": user_id, "device_id": device_id, "seqs": [p.seq for p in settled]},
    )
    known.update({row.seq: row.op_id for row in rows})
    results = []
    for parsed in settled:
        stored = known.get(parsed.seq)
        mine = parsed.op.op_id if parsed.op else None
        clash = stored is not None and mine is not None and stored != mine
        results.append(OpResult(parsed.seq, "conflict" if clash else "duplicate"))
    return results


async def push(
    conn: AsyncConnection, user_id: uuid.UUID, device_id: uuid.UUID, ops: Sequence[ParsedOp]
) -> PushResponse:
    user = (await conn.execute(LOCK_USER, {"user_id": user_id})).one()
    device = (await conn.execute(LOCK_DEVICE, {"device_id": device_id, "user_id": user_id})).one()
    if device.user_id != user_id:
        raise DeviceOfAnotherUserError(str(device_id))

    now: datetime = user.now
    batch, settled = _plan(ops, device.last_seq, now)
    results = await _settled_results(conn, user_id, device_id, settled, batch)
    version: int = user.version
    if batch.creates or batch.deletes:
        version += 1
        await _write(conn, user_id, device_id, batch, version)
        await conn.execute(BUMP_VERSION, {"version": version, "user_id": user_id})
    if batch.last_seq != device.last_seq:
        await conn.execute(SETTLE_DEVICE, {"last_seq": batch.last_seq, "device_id": device_id})
    return PushResponse(
        ack_seq=batch.last_seq,
        results=sorted(results + batch.results, key=lambda r: r.seq),
        halted=batch.halted,
        version=version,
        server_time=now,
    )


async def _write(
    conn: AsyncConnection, user_id: uuid.UUID, device_id: uuid.UUID, batch: _Batch, version: int
) -> None:
    if batch.creates:
        await ensure_partitions(conn, [op.created_at for op in batch.creates])
        await conn.execute(
            INSERT_CREATES,
            {
                "user_id": user_id,
                "device_id": device_id,
                "version": version,
                "seqs": [op.seq for op in batch.creates],
                "op_ids": [op.op_id for op in batch.creates],
                "created": [op.created_at for op in batch.creates],
                "expressions": [op.data.expression for op in batch.creates if op.data],
                "results": [op.data.result for op in batch.creates if op.data],
                "metadata": [
                    None
                    if op.data is None or op.data.metadata is None
                    else msgspec.json.encode(op.data.metadata).decode()
                    for op in batch.creates
                ],
            },
        )
    if batch.deletes:
        targets = [op.target for op in batch.deletes if op.target]
        await conn.execute(
            APPLY_DELETES,
            {
                "user_id": user_id,
                "version": version,
                "devices": [t.device_id for t in targets],
                "seqs": [t.seq for t in targets],
                "created": [t.created_at for t in targets],
                "deleted": [op.created_at for op in batch.deletes],
            },
        )


# ---------------------------------------------------------------- pull

DEVICE_OWNER = text("SELECT user_id, last_seq FROM sync_device WHERE device_id = :device_id")
USER_VERSION = text("SELECT version, now() AS now FROM sync_user WHERE user_id = :user_id")
PULL_PAGE = text(
    """
    SELECT id, device_id, seq, op_id, created_at, received_at, version,
           deleted_at IS NOT NULL AS deleted, expression, result, metadata
    FROM calculation_history
    WHERE user_id = :user_id AND (version, id) > (:version, :id)
    ORDER BY version, id
    LIMIT :limit
    """
)


async def pull(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    after: Position | None,
    limit: int,
) -> PullResponse:
    device = (await conn.execute(DEVICE_OWNER, {"device_id": device_id})).one_or_none()
    if device is not None and device.user_id != user_id:
        raise DeviceOfAnotherUserError(str(device_id))
    state = (await conn.execute(USER_VERSION, {"user_id": user_id})).one_or_none()
    current_version = state.version if state else 0
    now = state.now if state else (await conn.execute(text("SELECT now()"))).scalar_one()
    after = after or Position(first=-1, id=0)
    if after.first > current_version:
        raise CursorExpiredError("the cursor is ahead of the server")

    rows = (
        await conn.execute(
            PULL_PAGE,
            {"user_id": user_id, "version": after.first, "id": after.id, "limit": limit + 1},
        )
    ).all()
    page = rows[:limit]
    items = [
        PullItem(
            device_id=row.device_id,
            seq=row.seq,
            op_id=row.op_id,
            created_at=row.created_at,
            received_at=row.received_at,
            version=row.version,
            deleted=row.deleted,
            expression=row.expression,
            result=row.result,
            metadata=row.metadata,
        )
        for row in page
    ]
    end = Position(first=page[-1].version, id=page[-1].id) if page else after
    return PullResponse(
        items=items,
        next_cursor=encode_cursor(end),
        has_more=len(rows) > limit,
        acked_through=device.last_seq if device else 0,
        server_time=now,
    )


# ---------------------------------------------------------------- history (newest first)

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
