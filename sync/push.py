"""Push: a device's ops into the history, each push one transaction of a few set-based statements.

Push locks the user's `sync_user` row, then the device's `sync_device` row (always in that
order, so concurrent pushes queue instead of deadlocking). `sync_device.last_seq` is the
authoritative record of what the device's ops have settled to, and the op-id log
(`sync.oplog`) records which op settled each seq; both move in the same transaction as the
rows, so a crash before COMMIT applies nothing and a retry after it answers `duplicate`.
Every push that changes something takes the next per-user `version` under the user's lock,
so versions commit in order and pull can page on them safely.

A push is two statements in the common case (lock the account, then the device, counting
the account's pushes; insert the creates and settle, which also notifies the account's live
streams), on the asyncpg connection of the caller's transaction: prepared once per
connection, with no ORM in between. No DDL runs here: the months' partitions exist before the
push (`sync.partitions`), and an op dated outside the live window halts with
`clock_out_of_range`.

The caller owns the transaction (it commits or rolls back); nothing here imports the backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


class TooManyPushesError(Exception):
    """The account pushed more than its allowance this minute; `retry_after` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = retry_after


# The account's row, then the device's, locked for the push in one statement (the device's
# insert reads the account's row, so the account is always locked first), and the account's
# pushes counted per minute on the way. A refused push rolls back, so the count stays at the
# limit for the window.
LOCK = """
    WITH account AS (
        INSERT INTO sync_user (user_id, push_window_start, pushes) VALUES ($1, now(), 1)
        ON CONFLICT (user_id) DO UPDATE SET
            updated_at = now(),
            push_window_start = CASE WHEN sync_user.push_window_start <= now() - $2::interval
                                     THEN now() ELSE sync_user.push_window_start END,
            pushes = CASE WHEN sync_user.push_window_start <= now() - $2::interval
                          THEN 1 ELSE sync_user.pushes + 1 END
        RETURNING user_id, version, now() AS now, sync_window_start() AS earliest, pushes,
                  push_window_start
    ), device AS (
        INSERT INTO sync_device (device_id, user_id) SELECT $3, user_id FROM account
        ON CONFLICT (device_id) DO UPDATE SET updated_at = now()
        RETURNING user_id, last_seq
    )
    SELECT account.version, account.now, account.earliest, account.pushes,
           account.push_window_start, device.user_id AS device_user_id, device.last_seq
    FROM account, device
"""
CLAIM_ENTRIES = """
    INSERT INTO sync_entry (user_id, entry_id)
    SELECT $1, e FROM unnest($2::uuid[]) AS e
    ON CONFLICT DO NOTHING
    RETURNING entry_id
"""
APPLY_DELETES = """
    UPDATE calculation_history AS h
    SET deleted_at = d.deleted_at, version = $2
    FROM unnest($3::uuid[], $4::bigint[], $5::timestamptz[], $6::timestamptz[])
         AS d(device_id, seq, created_at, deleted_at)
    WHERE h.user_id = $1 AND h.device_id = d.device_id AND h.seq = d.seq
      AND h.created_at = d.created_at AND h.deleted_at IS NULL
"""
CHANNEL = "calcapp_sync"
"""Where a push that changed the history says so: `<user id> <version>`, delivered to the
listening processes on commit (backend/live)."""
# What a push settled, in one statement (the locks are held already): the device's counter,
# the op ids, and the account's version when something changed, with its notification. $1 the
# device, $2 the account, $3 the last seq, $4 the version, $5 whether it changed, $6 and $7
# the op-id log's blocks.
SETTLE_PARTS = f"""
    device AS (
        UPDATE sync_device SET last_seq = $3 WHERE device_id = $1
    ), account AS (
        UPDATE sync_user SET version = $4::bigint WHERE user_id = $2 AND $5::boolean
        RETURNING pg_notify('{CHANNEL}', $2::uuid::text || ' ' || $4::bigint::text)
    )
    {oplog.APPEND_SQL}
"""  # noqa: S608 (a constant of sync.oplog)
SETTLE = f"WITH {SETTLE_PARTS}"
# ...with the creates inserted by the same statement (the common push): $8 to $13 their
# columns.
SETTLE_CREATES = f"""
    WITH created AS (
        INSERT INTO calculation_history
            (user_id, device_id, seq, op_id, created_at, expression, result, metadata, version)
        SELECT $2, $1, o.seq, o.op_id, o.created_at, o.expression, o.result, o.metadata::jsonb,
               $4
        FROM unnest($8::bigint[], $9::uuid[], $10::timestamptz[], $11::text[], $12::text[],
                    $13::text[]) AS o(seq, op_id, created_at, expression, result, metadata)
        ON CONFLICT DO NOTHING
    ), {SETTLE_PARTS}
"""  # noqa: S608 (constants)


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
    """Walk the ops in seq order: what to apply, what is settled already, where to halt."""
    batch = _Batch(first_seq=last_seq + 1)
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


async def _settled_results(
    conn: Any, device_id: uuid.UUID, settled: list[ParsedOp], batch: _Batch
) -> list[OpResult]:
    """For ops at seqs settled already: the same op is `duplicate` (a bad one `rejected`
    again, so that a lost answer still tells why), another op is a `conflict`."""
    if not settled:
        return []
    known = {batch.first_seq + i: op_id for i, op_id in enumerate(batch.settling)}
    earlier = [p.seq for p in settled if p.seq < batch.first_seq]
    known.update(await oplog.read(conn, device_id, earlier))
    results = []
    for parsed in settled:
        if parsed.op is None:
            results.append(_rejected(parsed))
        elif known.get(parsed.seq) == parsed.op.op_id:
            results.append(OpResult(parsed.seq, "duplicate"))
        else:
            results.append(OpResult(parsed.seq, "conflict"))
    return results


async def _drop_stored_entries(conn: Any, user_id: uuid.UUID, batch: _Batch) -> None:
    """Creates carrying an entry id the account has stored already become `duplicate`."""
    entries = [op.entry_id for op in batch.creates if op.entry_id is not None]
    if not entries:
        return
    claimed = {row["entry_id"] for row in await conn.fetch(CLAIM_ENTRIES, user_id, entries)}
    stored_already: set[int] = set()
    for op in batch.creates:
        if op.entry_id is None:
            continue
        if op.entry_id in claimed:
            claimed.discard(op.entry_id)  # the first create of an entry in the batch keeps it
        else:
            stored_already.add(op.seq)
    if stored_already:
        batch.creates = [op for op in batch.creates if op.seq not in stored_already]
        batch.results = [
            OpResult(r.seq, "duplicate") if r.seq in stored_already else r for r in batch.results
        ]


async def push(
    conn: Any,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    ops: Sequence[ParsedOp],
    *,
    pushes_per_minute: int | None = None,
) -> PushResponse:
    """Apply `ops` on `conn`, an asyncpg connection inside the caller's transaction.
    `pushes_per_minute`: the account's allowance (`TooManyPushesError` beyond it)."""
    locked = await conn.fetchrow(LOCK, user_id, PUSH_WINDOW, device_id)
    if pushes_per_minute is not None and locked["pushes"] > pushes_per_minute:
        ends = locked["push_window_start"] + PUSH_WINDOW - locked["now"]
        raise TooManyPushesError(max(1, int(ends.total_seconds()) + 1))
    if locked["device_user_id"] != user_id:
        raise DeviceOfAnotherUserError(str(device_id))

    now: datetime = locked["now"]
    window = Window(locked["earliest"], now + CLOCK_LEEWAY)
    batch, settled = _plan(ops, locked["last_seq"], window)
    results = await _settled_results(conn, device_id, settled, batch)
    await _drop_stored_entries(conn, user_id, batch)
    version: int = locked["version"]
    changed = bool(batch.creates or batch.deletes)
    if changed:
        version += 1
    if batch.settling:
        await _settle(conn, user_id, device_id, batch, version, changed)
    if batch.deletes:  # after the creates: a delete may target a create of this batch
        await _apply_deletes(conn, user_id, batch, version)
    return PushResponse(
        ack_seq=batch.last_seq,
        results=sorted(results + batch.results, key=lambda r: r.seq),
        halted=batch.halted,
        version=version,
        server_time=now,
    )


async def _settle(
    conn: Any,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    batch: _Batch,
    version: int,
    changed: bool,
) -> None:
    """Settle the batch, with its creates in the same statement when it has some."""
    blocks = oplog.chunks(batch.first_seq, batch.settling)
    settle = (
        device_id,
        user_id,
        batch.last_seq,
        version,
        changed,
        list(blocks),
        [*blocks.values()],
    )
    if not batch.creates:
        await conn.execute(SETTLE, *settle)
        return
    data = [op.data for op in batch.creates if op.data]
    try:
        await conn.execute(
            SETTLE_CREATES,
            *settle,
            [op.seq for op in batch.creates],
            [op.op_id for op in batch.creates],
            [op.created_at for op in batch.creates],
            [d.expression for d in data],
            [d.result for d in data],
            [batch.metadata[op.seq] for op in batch.creates],
        )
    except asyncpg.CheckViolationError as exc:
        if "no partition of relation" in str(exc):
            raise PartitionMissingError(str(exc)) from exc
        raise


async def _apply_deletes(conn: Any, user_id: uuid.UUID, batch: _Batch, version: int) -> None:
    targets = [op.target for op in batch.deletes if op.target]
    await conn.execute(
        APPLY_DELETES,
        user_id,
        version,
        [t.device_id for t in targets],
        [t.seq for t in targets],
        [t.created_at for t in targets],
        [op.created_at for op in batch.deletes],
    )
