"""Push: a device's ops into the history, each push one transaction of a few set-based statements.

Push locks the user's `sync_user` row, then the device's `sync_device` row (always in that
order, so concurrent pushes queue instead of deadlocking). `sync_device.last_seq` is the
authoritative record of what the device's ops have settled to, and the op-id log
(`sync.oplog`) records which op settled each seq; both move in the same transaction as the
rows, so a crash before COMMIT applies nothing and a retry after it answers `duplicate`.
Every push that changes something takes the next per-user `version` under the user's lock,
so versions commit in order and pull can page on them safely.

No DDL runs here: the months' partitions exist before the push (`sync.partitions`), and an
op dated outside the live window halts with `clock_out_of_range`.

The caller owns the transaction (it commits or rolls back); nothing here imports the backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

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


class DeviceOfAnotherUserError(Exception):
    """The device id is registered to another account."""


class PartitionMissingError(Exception):
    """A row's month has no partition (dropped while the push ran): try again."""


LOCK_USER = text(
    """
    INSERT INTO sync_user (user_id) VALUES (:user_id)
    ON CONFLICT (user_id) DO UPDATE SET updated_at = now()
    RETURNING version, now() AS now, sync_window_start() AS earliest
    """
)
LOCK_DEVICE = text(
    """
    INSERT INTO sync_device (device_id, user_id) VALUES (:device_id, :user_id)
    ON CONFLICT (device_id) DO UPDATE SET updated_at = now()
    RETURNING user_id, last_seq
    """
)
CLAIM_ENTRIES = text(
    """
    INSERT INTO sync_entry (user_id, entry_id)
    SELECT :user_id, e FROM unnest(CAST(:entries AS uuid[])) AS e
    ON CONFLICT DO NOTHING
    RETURNING entry_id
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

    first_seq: int
    results: list[OpResult] = field(default_factory=list)
    creates: list[Op] = field(default_factory=list)
    deletes: list[Op] = field(default_factory=list)
    settling: list[uuid.UUID | None] = field(default_factory=list)
    """The op id of each seq this push settles, from `first_seq` on."""
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
            (batch.creates if op.kind == "create" else batch.deletes).append(op)
            batch.results.append(OpResult(parsed.seq, "applied"))
        batch.settling.append(parsed.op_id)
    return batch, settled


async def _settled_results(
    conn: AsyncConnection, device_id: uuid.UUID, settled: list[ParsedOp], batch: _Batch
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


async def _drop_stored_entries(conn: AsyncConnection, user_id: uuid.UUID, batch: _Batch) -> None:
    """Creates carrying an entry id the account has stored already become `duplicate`."""
    entries = [op.entry_id for op in batch.creates if op.entry_id is not None]
    if not entries:
        return
    claimed = set(
        (await conn.execute(CLAIM_ENTRIES, {"user_id": user_id, "entries": entries})).scalars()
    )
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
    conn: AsyncConnection, user_id: uuid.UUID, device_id: uuid.UUID, ops: Sequence[ParsedOp]
) -> PushResponse:
    user = (await conn.execute(LOCK_USER, {"user_id": user_id})).one()
    device = (await conn.execute(LOCK_DEVICE, {"device_id": device_id, "user_id": user_id})).one()
    if device.user_id != user_id:
        raise DeviceOfAnotherUserError(str(device_id))

    now: datetime = user.now
    batch, settled = _plan(ops, device.last_seq, Window(user.earliest, now + CLOCK_LEEWAY))
    results = await _settled_results(conn, device_id, settled, batch)
    await _drop_stored_entries(conn, user_id, batch)
    version: int = user.version
    if batch.creates or batch.deletes:
        version += 1
        await _write(conn, user_id, device_id, batch, version)
        await conn.execute(BUMP_VERSION, {"version": version, "user_id": user_id})
    if batch.settling:
        await oplog.append(conn, device_id, batch.first_seq, batch.settling)
        await conn.execute(SETTLE_DEVICE, {"last_seq": batch.last_seq, "device_id": device_id})
    return PushResponse(
        ack_seq=batch.last_seq,
        results=sorted(results + batch.results, key=lambda r: r.seq),
        halted=batch.halted,
        version=version,
        server_time=now,
    )


def _is_missing_partition(exc: DBAPIError) -> bool:
    return "no partition of relation" in str(exc.orig)


async def _write(
    conn: AsyncConnection, user_id: uuid.UUID, device_id: uuid.UUID, batch: _Batch, version: int
) -> None:
    if batch.creates:
        data = [op.data for op in batch.creates if op.data]
        try:
            await conn.execute(
                INSERT_CREATES,
                {
                    "user_id": user_id,
                    "device_id": device_id,
                    "version": version,
                    "seqs": [op.seq for op in batch.creates],
                    "op_ids": [op.op_id for op in batch.creates],
                    "created": [op.created_at for op in batch.creates],
                    "expressions": [d.expression for d in data],
                    "results": [d.result for d in data],
                    "metadata": [
                        None if d.metadata is None else msgspec.json.encode(d.metadata).decode()
                        for d in data
                    ],
                },
            )
        except DBAPIError as exc:
            if _is_missing_partition(exc):
                raise PartitionMissingError(str(exc.orig)) from exc
            raise
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
