"""The op-id log: which op settled each seq of a device, whatever kind of op it was.

A device's seqs settle one after another (1, 2, 3, … under the device's row lock), so the
log is a dense array per device: 16 bytes (the `op_id`) per seq, kept in rows of 64 seqs
(`sync_op_log(device_id, block, op_ids)`, block = (seq - 1) // 64, 1 KiB at most, stored
inline). A push appends to the last block or two, and reads the blocks of the seqs it is sent
again, in `sync_push` (migration 0011). Zeros mean "unknown": a rejected op whose id could
not be read, or a seq settled before the log existed (a delete or a rejected op then). The
log lives as long as the device's record (it goes with the account); it holds no
calculation data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

BLOCK = 64
ID_BYTES = 16
UNKNOWN = bytes(ID_BYTES)


def block_of(seq: int) -> int:
    return (seq - 1) // BLOCK


def chunks(first_seq: int, op_ids: Sequence[uuid.UUID | None]) -> dict[int, bytes]:
    """The bytes to append per block for ops settling `first_seq`, `first_seq + 1`, …"""
    ids = [UNKNOWN if op_id is None else op_id.bytes for op_id in op_ids]
    out: dict[int, bytes] = {}
    offset = 0
    while offset < len(ids):
        seq = first_seq + offset
        room = BLOCK - (seq - 1) % BLOCK  # seqs left in this block
        out[block_of(seq)] = b"".join(ids[offset : offset + room])
        offset += room
    return out


def op_ids(blocks: dict[int, bytes], seqs: Iterable[int]) -> dict[int, uuid.UUID | None]:
    """The recorded op id of each of these settled seqs (None: unknown), from the log's rows
    (`block: op_ids`) that hold them."""
    found: dict[int, uuid.UUID | None] = {}
    for seq in seqs:
        start = (seq - 1) % BLOCK * ID_BYTES
        raw = blocks.get(block_of(seq), b"")[start : start + ID_BYTES]
        found[seq] = uuid.UUID(bytes=raw) if len(raw) == ID_BYTES and raw != UNKNOWN else None
    return found
