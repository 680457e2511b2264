"""The op-id log: which op settled each seq of a device, whatever kind of op it was.

A device's seqs settle one after another (1, 2, 3, … under the device's row lock), so the
log is a dense array per device: 16 bytes (the `op_id`) per seq, kept in rows of 64 seqs
(`sync_op_log(device_id, block, op_ids)`, block = (seq - 1) // 64, 1 KiB at most, stored
inline). A push appends to the last block or two with one statement. Zeros mean "unknown":
a rejected op whose id could not be read, or a seq settled before the log existed (a delete
or a rejected op then). The log lives as long as the device's record (it goes with the
account); it holds no calculation data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

BLOCK = 64
ID_BYTES = 16
UNKNOWN = bytes(ID_BYTES)

APPEND = text(
    """
    INSERT INTO sync_op_log (device_id, block, op_ids)
    SELECT :device_id, b.block, b.op_ids
    FROM unnest(CAST(:blocks AS bigint[]), CAST(:chunks AS bytea[])) AS b(block, op_ids)
    ON CONFLICT (device_id, block) DO UPDATE SET op_ids = sync_op_log.op_ids || EXCLUDED.op_ids
    """
)
READ = text(
    """
    SELECT block, op_ids FROM sync_op_log
    WHERE device_id = :device_id AND block = ANY(CAST(:blocks AS bigint[]))
    """
)


def block_of(seq: int) -> int:
    return (seq - 1) // BLOCK


def chunks(first_seq: int, op_ids: Sequence[uuid.UUID | None]) -> dict[int, bytes]:
    """The bytes to append per block for ops settling `first_seq`, `first_seq + 1`, …"""
    out: dict[int, bytearray] = {}
    for offset, op_id in enumerate(op_ids):
        out.setdefault(block_of(first_seq + offset), bytearray()).extend(
            UNKNOWN if op_id is None else op_id.bytes
        )
    return {block: bytes(data) for block, data in out.items()}


async def append(
    conn: AsyncConnection,
    device_id: uuid.UUID,
    first_seq: int,
    op_ids: Sequence[uuid.UUID | None],
) -> None:
    """Record the ids of ops settling `first_seq`, `first_seq + 1`, … (the caller holds the
    device's lock and `first_seq` is its last settled seq + 1, so appends stay aligned)."""
    if not op_ids:
        return
    parts = chunks(first_seq, op_ids)
    await conn.execute(
        APPEND,
        {"device_id": device_id, "blocks": list(parts), "chunks": list(parts.values())},
    )


async def read(
    conn: AsyncConnection, device_id: uuid.UUID, seqs: Iterable[int]
) -> dict[int, uuid.UUID | None]:
    """The recorded op id of each settled seq (None: unknown)."""
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    rows = await conn.execute(
        READ, {"device_id": device_id, "blocks": sorted({block_of(s) for s in wanted})}
    )
    blocks: dict[int, bytes] = {row.block: row.op_ids for row in rows}
    found: dict[int, uuid.UUID | None] = {}
    for seq in wanted:
        start = (seq - 1) % BLOCK * ID_BYTES
        raw = blocks.get(block_of(seq), b"")[start : start + ID_BYTES]
        found[seq] = uuid.UUID(bytes=raw) if len(raw) == ID_BYTES and raw != UNKNOWN else None
    return found
