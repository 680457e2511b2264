"""The op-id log's layout: 64 op ids a block, appended in chunks, read back by seq."""

from __future__ import annotations

import uuid

from sync import oplog


def test_chunks_split_at_block_boundaries_and_read_back_by_seq() -> None:
    ids: list[uuid.UUID | None] = [uuid.uuid4() for _ in range(70)]
    ids[3] = None  # a rejected op whose id could not be read
    # Seqs 60 to 129: the last 5 of block 0, all 64 of block 1, the first of block 2.
    chunks = oplog.chunks(60, ids)
    assert {block: len(data) // oplog.ID_BYTES for block, data in chunks.items()} == {
        0: 5,
        1: 64,
        2: 1,
    }
    # As stored: block 0 already held seqs 1 to 59.
    earlier = [uuid.uuid4() for _ in range(59)]
    blocks = {
        0: b"".join(i.bytes for i in earlier) + chunks[0],
        1: chunks[1],
        2: chunks[2],
    }
    seqs = [1, 59, 60, 63, 64, 65, 128, 129]
    assert oplog.op_ids(blocks, seqs) == {
        1: earlier[0],
        59: earlier[58],
        60: ids[0],
        63: None,
        64: ids[4],
        65: ids[5],
        128: ids[68],
        129: ids[69],
    }


def test_a_seq_beyond_the_log_is_unknown() -> None:
    blocks = {0: uuid.uuid4().bytes}
    assert oplog.op_ids(blocks, [2, 65, 200]) == {2: None, 65: None, 200: None}
