"""Push: a device's ops into the history, each push one transaction, in one round trip.

Push locks the user's `sync_user` row, then the device's `sync_device` row (always in that
order, so concurrent pushes queue instead of deadlocking). `sync_device.last_seq` is the
authoritative record of what the device's ops have settled to, and the op-id log
(`sync.oplog`) records which op settled each seq; both move in the same transaction as the
rows, so a crash before COMMIT applies nothing and a retry after it answers `duplicate`.
Every push that changes something takes the next per-user `version` under the user's lock,
so versions commit in order and pull can page on them safely.

The batch is planned here, in Python, before any lock: as if the device had settled every seq
before the batch's first and every op's time were inside the live window (the common push).
`sync_push` (a PL/pgSQL function, migration 0011) takes the locks, checks those assumptions
and applies the plan, all in one statement; when they do not hold (a retry, a gap, a clock
out of range) it answers with what it found, and the push is planned again from that (a
second call, or none when the ops were all settled already). No DDL runs here: the months'
partitions exist before the push (`sync.partitions`), and an op dated outside the live
window halts with `clock_out_of_range`.

Called outside a transaction (the endpoint), the function is the push's transaction; inside
one, the caller commits or rolls back. Nothing here imports the backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from sync import oplog
from sync.protocol import (
    CLOCK_LEEWAY,
    Halt,
    Op,
    OpResult,
    ParsedOp,
    PushResponse,
    Window,
)

PUSH_WINDOW = timedelta(minutes=1)


class DeviceOfAnotherUserError(Exception):
    """The device id is registered to another account."""


class PartitionMissingError(Exception):
    """A row's month has no partition (dropped while the push ran): try again."""


class PushContendedError(Exception):
    """Other pushes of the device kept settling its seqs while this one planned: try again."""


class TooManyPushesError(Exception):
    """The account pushed more than its allowance this minute; `retry_after` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = retry_after


PUSH = f"SELECT * FROM sync_push({', '.join(f'${n}' for n in range(1, 25))})"  # noqa: S608
"""The function of migration 0011: locks, checks the plan's assumptions, applies the plan."""
CHANNEL = "calcapp_sync"
"""Where a push that changed the history says so: `<user id> <version>`, delivered to the
listening processes on commit (backend/live); `sync_push` notifies it."""
PLANS = 4
"""How many times a push plans before it gives up (`PushContendedError`): a plan is redone
only when the device settled seqs between two calls, that is, when it pushes twice at once."""
PROBE_OVER = 100
"""A batch of more ops than this asks first, without its rows, where the device stands: a
retry of a large batch (all settled already) would otherwise send its rows for nothing."""
ANY_TIME = Window(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


@dataclass
class _Batch:
    """What a push decided, before writing it."""

    first_seq: int
    results: list[OpResult] = field(default_factory=list)
    creates: list[Op] = field(default_factory=list)
    deletes: list[Op] = field(default_factory=list)
    settling: list[uuid.UUID | None] = field(default_factory=list)
    """The op id of each seq this push settles, from `first_seq` on."""
    metadata: dict[int, str | None] = field(default_factory=dict)
    """The creates' metadata as JSON text, by seq."""
    halted: Halt | None = None

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.settling) - 1


def _rejected(parsed: ParsedOp) -> OpResult:
    assert parsed.problem is not None
    return OpResult(parsed.seq, "rejected", parsed.problem.reason, parsed.problem.code)


def _plan(ops: Sequence[ParsedOp], last_seq: int, window: Window) -> tuple[_Batch, list[ParsedOp]]:
    """Walk the ops (in seq order): what to apply, what is settled already, where to halt."""
    batch = _Batch(first_seq=last_seq + 1)
    settled: list[ParsedOp] = []
    for parsed in ops:
        if parsed.seq <= batch.last_seq:
            settled.append(parsed)
            continue
        if parsed.seq > batch.last_seq + 1:
            batch.halted = Halt(seq=parsed.seq, reason="gap", expected_seq=batch.last_seq + 1)
            break
        op = parsed.op
        if op is None:
            batch.results.append(_rejected(parsed))
        elif not window.holds(op.created_at):
            batch.halted = Halt(
                seq=parsed.seq,
                reason="clock_out_of_range",
                earliest=window.earliest,
                latest=window.latest,
            )
            break
        else:
            if op.kind == "create":
                batch.creates.append(op)
                batch.metadata[op.seq] = parsed.metadata_json
            else:
                batch.deletes.append(op)
            batch.results.append(OpResult(parsed.seq, "applied"))
        batch.settling.append(parsed.op_id)
    return batch, settled


def _settled_results(
    settled: list[ParsedOp], batch: _Batch, logged: dict[int, uuid.UUID | None]
) -> list[OpResult]:
    """For ops at seqs settled already: the same op is `duplicate` (a bad one `rejected`
    again, so that a lost answer still tells why), another op is a `conflict`. `logged`: the
    op-id log of the seqs settled before this push."""
    known = logged | {batch.first_seq + i: op_id for i, op_id in enumerate(batch.settling)}
    results = []
    for parsed in settled:
        if parsed.op is None:
            results.append(_rejected(parsed))
        elif known.get(parsed.seq) == parsed.op.op_id:
            results.append(OpResult(parsed.seq, "duplicate"))
        else:
            results.append(OpResult(parsed.seq, "conflict"))
    return results


def _drop_repeated_entries(batch: _Batch) -> None:
    """A create whose entry id an earlier create of the batch carries is `duplicate`: the
    first keeps it (and `sync_push` drops the creates whose entry the account has stored)."""
    seen: set[uuid.UUID] = set()
    repeated: set[int] = set()
    for op in batch.creates:
        if op.entry_id is not None:
            if op.entry_id in seen:
                repeated.add(op.seq)
            seen.add(op.entry_id)
    if repeated:
        _make_duplicates(batch, repeated)


def _make_duplicates(batch: _Batch, seqs: set[int]) -> None:
    batch.creates = [op for op in batch.creates if op.seq not in seqs]
    batch.results = [OpResult(r.seq, "duplicate") if r.seq in seqs else r for r in batch.results]


async def push(
    conn: Any,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    ops: Sequence[ParsedOp],
    *,
    pushes_per_minute: int | None = None,
) -> PushResponse:
    """Apply `ops` on `conn`, an asyncpg connection: on its own, one round trip in the common
    case (the function is the transaction; a batch of over PROBE_OVER ops takes two); inside
    a transaction, part of it. `pushes_per_minute`: the account's
    allowance (`TooManyPushesError` beyond it)."""
    ordered = sorted(ops, key=lambda p: p.seq)
    expected = ordered[0].seq - 1 if ordered else 0  # the common push: every op new
    probing, count = len(ordered) > PROBE_OVER, 1
    # A probe settles nothing: the batch is planned from its answer.
    batch, settled = (_Batch(expected + 1), []) if probing else _plan(ordered, expected, ANY_TIME)
    for _ in range(PLANS):
        _drop_repeated_entries(batch)
        row = await _call(
            conn, user_id, device_id, ordered, batch, expected, count, pushes_per_minute
        )
        if row["outcome"] == "limited":
            ends = row["pushes_since"] + PUSH_WINDOW - row["server_now"]
            raise TooManyPushesError(max(1, int(ends.total_seconds()) + 1))
        if row["outcome"] == "foreign_device":
            raise DeviceOfAnotherUserError(str(device_id))
        if row["outcome"] == "replan" or probing:
            expected, count, probing = row["last_seq"], 0, False
            window = Window(row["earliest"], row["server_now"] + CLOCK_LEEWAY)
            batch, settled = _plan(ordered, expected, window)
            if batch.settling:
                continue  # the function applies the new plan
        if row["stored"]:
            _make_duplicates(batch, set(row["stored"]))
        blocks = dict(zip(row["log_blocks"] or (), row["log_ids"] or (), strict=True))
        logged = oplog.op_ids(blocks, (p.seq for p in settled if p.seq < batch.first_seq))
        results = _settled_results(settled, batch, logged) + batch.results
        return PushResponse(
            ack_seq=batch.last_seq,
            results=sorted(results, key=lambda r: r.seq),
            halted=batch.halted,
            version=row["version"],
            server_time=row["server_now"],
        )
    raise PushContendedError(str(device_id))


async def _call(
    conn: Any,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    ordered: list[ParsedOp],
    batch: _Batch,
    expected: int,
    count: int,
    pushes_per_minute: int | None,
) -> Any:
    """`sync_push` with the plan's assumptions and writes."""
    blocks = oplog.chunks(batch.first_seq, batch.settling)
    creates = batch.creates
    data = [op.data for op in creates if op.data]
    targets = [op.target for op in batch.deletes if op.target]
    try:
        return await conn.fetchrow(
            PUSH,
            user_id,
            device_id,
            count,
            pushes_per_minute,
            PUSH_WINDOW,
            CLOCK_LEEWAY,
            expected,
            ordered[0].seq if ordered else None,
            ordered[-1].seq if ordered else None,
            [op.created_at for op in creates + batch.deletes],
            batch.last_seq,
            list(blocks),
            [*blocks.values()],
            [op.seq for op in creates],
            [op.op_id for op in creates],
            [op.created_at for op in creates],
            [d.expression for d in data],
            [d.result for d in data],
            [batch.metadata[op.seq] for op in creates],
            [op.entry_id for op in creates],
            [t.device_id for t in targets],
            [t.seq for t in targets],
            [t.created_at for t in targets],
            [op.created_at for op in batch.deletes],
        )
    except asyncpg.CheckViolationError as exc:
        if "no partition of relation" in str(exc):
            raise PartitionMissingError(str(exc)) from exc
        raise
