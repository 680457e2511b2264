"""The sync protocol on the wire (docs/api.md, "Premium sync"): messages, limits, cursors.

A push envelope is decoded in two steps so that one bad op never blocks a device's queue:
the envelope and every op's `seq` must be well-formed (or the whole request is refused),
while the rest of each op is checked on its own and a bad one is `rejected` (its seq still
counts as settled).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

MAX_OPS = 500
MAX_BYTES = 256 * 1024
MAX_PULL = 1000
DEFAULT_PULL = 500
MAX_EXPRESSION = 500
MAX_RESULT = 100
MAX_METADATA_BYTES = 2048
MAX_SEQ = 2**53 - 1  # what a JavaScript number holds exactly
MAX_OUTBOX_AGE_MS = 10 * 366 * 24 * 3600 * 1000  # ten years: clients clamp to it
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_LEEWAY = timedelta(hours=24)

# PostgreSQL text and jsonb cannot hold NUL (U+0000): ops carrying one are rejected.
NUL = "\x00"
NO_NUL = r"^[^\x00]*$"
BIGINT = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

Seq = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


# ---------------------------------------------------------------- push


class OpHead(msgspec.Struct):
    """What must be readable in every op, even a bad one: its place in the device's order."""

    seq: Seq


class PushEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    device_id: uuid.UUID
    ops: list[Any]
    """Each an `Op`; decoded one by one (see `parse_op`)."""
    acked_through: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)] = 0
    outbox_oldest_age_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_OUTBOX_AGE_MS)] | None = None
    """How long the oldest op still in the device's outbox has waited (telemetry only)."""


class CreateData(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    expression: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EXPRESSION)]
    result: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_RESULT)]
    metadata: dict[str, Any] | None = None


class Target(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    device_id: uuid.UUID
    seq: Seq
    created_at: AwareDatetime


class Op(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    seq: Seq
    op_id: uuid.UUID
    kind: Literal["create", "delete"]
    created_at: AwareDatetime
    data: CreateData | None = None
    target: Target | None = None


class OpResult(msgspec.Struct, frozen=True, omit_defaults=True):
    seq: int
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    reason: str | None = None


class Halt(msgspec.Struct, frozen=True, omit_defaults=True):
    seq: int
    reason: Literal["gap", "clock_out_of_range"]
    expected_seq: int | None = None


class Limits(msgspec.Struct, frozen=True):
    max_ops: int = MAX_OPS
    max_bytes: int = MAX_BYTES


class PushResponse(msgspec.Struct, frozen=True):
    ack_seq: int
    results: list[OpResult]
    halted: Halt | None
    version: int
    server_time: datetime
    limits: Limits = Limits()


class ParsedOp(msgspec.Struct, frozen=True):
    """An op after the second decoding step: either valid (`op`) or why not (`problem`)."""

    seq: int
    op: Op | None
    problem: str | None


def op_seq(value: Any) -> int:
    """The seq of a decoded JSON op; `msgspec.ValidationError` when it has none usable."""
    return msgspec.convert(value, OpHead, strict=False).seq


def parse_op(value: Any) -> ParsedOp:
    """Check one decoded JSON op; the caller has already checked that it has a seq."""
    seq = op_seq(value)
    try:
        op = msgspec.convert(value, Op, strict=False)
    except msgspec.ValidationError as exc:
        return ParsedOp(seq=seq, op=None, problem=str(exc))
    problem = op_problem(op)
    return ParsedOp(seq=seq, op=None if problem else op, problem=problem)


def op_problem(op: Op) -> str | None:
    if op.kind == "create":
        if op.data is None or op.target is not None:
            return "a create op carries `data` and no `target`"
        if (
            op.data.metadata is not None
            and len(msgspec.json.encode(op.data.metadata)) > MAX_METADATA_BYTES
        ):
            return f"`metadata` is over {MAX_METADATA_BYTES} bytes"
        if NUL in op.data.expression or NUL in op.data.result or _holds_nul(op.data.metadata):
            return "the op holds a NUL character (U+0000), which cannot be stored"
    elif op.target is None or op.data is not None:
        return "a delete op carries `target` and no `data`"
    return None


def _holds_nul(value: Any) -> bool:
    """Is there a NUL in any string (key or value) of decoded JSON? (Iterative: metadata may
    nest as deep as the decoder allows.)"""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def clock_in_range(created_at: datetime, now: datetime) -> bool:
    return EARLIEST <= created_at <= now + CLOCK_LEEWAY


# ---------------------------------------------------------------- pull


class PullRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    device_id: uuid.UUID
    cursor: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PULL)] = DEFAULT_PULL


class PullItem(msgspec.Struct, frozen=True):
    device_id: uuid.UUID | None
    seq: int | None
    op_id: uuid.UUID | None
    created_at: datetime
    received_at: datetime
    version: int
    deleted: bool
    expression: str
    result: str
    metadata: dict[str, Any] | None


class PullResponse(msgspec.Struct, frozen=True):
    items: list[PullItem]
    next_cursor: str | None
    has_more: bool
    acked_through: int
    server_time: datetime


class Position(msgspec.Struct, frozen=True, array_like=True):
    """Where a page ends: the last row's (version, id) for pull, (created_at µs, id) for history.
    Both are PostgreSQL bigints: a cursor holding anything larger is not one of ours."""

    first: BIGINT
    id: BIGINT


def encode_cursor(position: Position) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position | None:
    """The position of an opaque cursor, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None


# ---------------------------------------------------------------- history


class HistoryItem(msgspec.Struct, frozen=True):
    device_id: uuid.UUID | None
    seq: int | None
    created_at: datetime
    expression: str
    result: str
    metadata: dict[str, Any] | None


class HistoryPage(msgspec.Struct, frozen=True):
    items: list[HistoryItem]
    next_cursor: str | None
