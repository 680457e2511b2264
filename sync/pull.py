"""Pull: what changed in the account's history since a cursor, in the order it changed.

The cursor is the account's epoch and the last row's (version, id). Versions are taken under
the account's lock in push (`sync.push`), so a reader never sees version v+1 before v. The
epoch changes when the history is rewritten behind the versions' back (a backup restore, a
partition restore, a retention deletion): a cursor of another epoch, or one ahead of the
account's version, is expired, and the device rebuilds its synced cache from the start.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sync.history import page_limit
from sync.protocol import MAX_PULL, PullItem, PullPosition, PullResponse, encode_cursor
from sync.push import DeviceOfAnotherUserError


class CursorExpiredError(Exception):
    """The cursor belongs to another epoch or points past what the server holds: start over."""


STATE = text(
    """
    SELECT now() AS now, u.version, u.epoch, d.user_id AS device_user, d.last_seq
    FROM (SELECT 1) AS one
    LEFT JOIN sync_user u ON u.user_id = :user_id
    LEFT JOIN sync_device d ON d.device_id = :device_id
    """
)
PAGE_SIZES = (100, 500, MAX_PULL)
PAGE = """
    SELECT id, device_id, seq, op_id, created_at, received_at, version,
           deleted_at IS NOT NULL AS deleted, expression, result, metadata::text AS metadata
    FROM calculation_history
    WHERE user_id = :user_id AND (version, id) > (:version, :id)
    ORDER BY version, id
    LIMIT {limit}
"""


NEW_EPOCHS = text("UPDATE sync_user SET epoch = sync_new_epoch()")


async def expire_cursors(conn: AsyncConnection) -> int:
    """Give every account a new epoch: every device rebuilds its synced history on its next
    pull (after the database was restored by other means than `calcapp db restore`, such as
    a provider's point-in-time recovery). Returns how many accounts."""
    return (await conn.execute(NEW_EPOCHS)).rowcount


async def pull(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    after: PullPosition | None,
    limit: int,
) -> PullResponse:
    state = (await conn.execute(STATE, {"user_id": user_id, "device_id": device_id})).one()
    if state.device_user is not None and state.device_user != user_id:
        raise DeviceOfAnotherUserError(str(device_id))
    epoch: int = state.epoch or 0  # 0: the account has never synced
    version: int = state.version or 0
    after = after or PullPosition(epoch=epoch, version=-1, id=0)
    if after.epoch != epoch or after.version > version:
        raise CursorExpiredError("the cursor is of another epoch, or ahead of the server")

    page_sql = text(PAGE.format(limit=page_limit(limit, PAGE_SIZES)))
    params = {"user_id": user_id, "version": after.version, "id": after.id}
    rows = (await conn.execute(page_sql, params)).all()
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
            metadata=None if row.metadata is None else msgspec.Raw(row.metadata),
        )
        for row in page
    ]
    end = PullPosition(epoch, page[-1].version, page[-1].id) if page else after
    return PullResponse(
        items=items,
        next_cursor=encode_cursor(end),
        has_more=len(rows) > limit,
        acked_through=state.last_seq or 0,
        server_time=state.now,
        version=version,
    )
