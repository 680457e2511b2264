"""`parse_ops` (a push's ops converted at once) answers exactly as `parse_op` op by op, for
well-typed batches and for batches with a bad op among good ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from sync.protocol import parse_op, parse_ops

NOW = datetime.now(UTC).isoformat()  # any moment: parsing does not look at the clock


def create(seq: int, **data: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "op_id": str(uuid.UUID(int=seq)),
        "kind": "create",
        "created_at": NOW,
        "data": {"expression": f"{seq}+1", "result": str(seq + 1), **data},
    }


GOOD = [create(1), create(2, metadata={"engine": 2, "angle": "deg"}), create(3)]
BATCHES = {
    "all good": GOOD,
    "a wrong type": [*GOOD, create(4, expression=4)],
    "too long": [create(4, expression="1+" * 300), *GOOD],
    "a NUL": [*GOOD, create(4, result="1\u00002")],
    "a delete with data": [*GOOD, {**create(4), "kind": "delete"}],
    "an unknown field": [*GOOD, {**create(4), "color": "red"}],
}


@pytest.mark.parametrize("batch", BATCHES.values(), ids=BATCHES.keys())
def test_parse_ops_is_parse_op_of_each(batch: list[dict[str, Any]]) -> None:
    assert parse_ops(batch) == [parse_op(op) for op in batch]
    assert [p.seq for p in parse_ops(batch)] == [op["seq"] for op in batch]
