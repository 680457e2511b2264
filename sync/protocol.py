"""The sync protocol on the wire (docs/sync-protocol.md): messages, limits, cursors.

A push envelope is decoded in two steps so that one bad op never blocks a device's queue:
the envelope and every op's `seq` must be well-formed (or the whole request is refused),
while the rest of each op is checked on its own and a bad one is `rejected` (its seq still
counts as settled).

Every field added since the first version is optional, so that clients already installed
keep working: `account_id` (push, pull), `entry_id` (create ops), `code` (op results),
`earliest`/`latest` (a `clock_out_of_range` halt), and the pull cursor's epoch (an older
cursor is answered `cursor_expired`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta
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
CLOCK_LEEWAY = timedelta(hours=24)
"""How far ahead of the server's clock `created_at` may be."""
WINDOW_MONTHS = 24
"""How far back `created_at` may be: this many UTC months before the current one (and never in
an archived month). The database function `sync_window_start()` computes the same."""

# PostgreSQL text and jsonb cannot hold NUL (U+0000): ops carrying one are rejected.
NUL = "\x00"
NO_NUL = r"^[^\x00]*$"
BIGINT = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

Seq = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


# ---------------------------------------------------------------- push


class PushEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    device_id: uuid.UUID
    ops: list[Any]
    """Each an `Op`; checked one by one (see `parse_op`)."""
    acked_through: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)] = 0
    outbox_oldest_age_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_OUTBOX_AGE_MS)] | None = None
    """How long the oldest op still in the device's outbox has waited (telemetry only)."""
    account_id: uuid.UUID | None = None
    """The account whose outbox this is; refused (409 `account_mismatch`) when it is not the
    session's. Optional: clients before it send none."""


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
    entry_id: uuid.UUID | None = None
    """A create's stable identity beyond this device's seqs: a calculation of the device's own
    history uploaded to the account, or one sent again after a restore. The server stores
    each entry id once per account; a create whose entry is stored already is `duplicate`."""


RejectCode = Literal["invalid", "too_long", "wrong_shape", "metadata_too_large", "nul_character"]
REJECT_CODES: tuple[RejectCode, ...] = (
    "invalid",
    "too_long",
    "wrong_shape",
    "metadata_too_large",
    "nul_character",
)


class OpResult(msgspec.Struct, frozen=True, omit_defaults=True):
    seq: int
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    reason: str | None = None
    """Why an op was rejected, for people."""
    code: RejectCode | None = None
    """Why an op was rejected, for programs (and the metrics)."""


class Halt(msgspec.Struct, frozen=True, omit_defaults=True):
    seq: int
    reason: Literal["gap", "clock_out_of_range"]
    expected_seq: int | None = None
    earliest: datetime | None = None
    """`clock_out_of_range`: the live window `created_at` must fall in, [earliest, latest]."""
    latest: datetime | None = None


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


class OpIdentity(msgspec.Struct):
    """What identifies an op, even a bad one: its place in the device's order, and its id
    when that is readable (a retry of a rejected op is then recognised)."""

    seq: Seq
    op_id: Any = None


class Problem(msgspec.Struct, frozen=True):
    code: RejectCode
    reason: str


class ParsedOp(msgspec.Struct, frozen=True):
    """An op after the second decoding step: either valid (`op`) or why not (`problem`)."""

    seq: int
    op: Op | None
    problem: Problem | None = None
    op_id: uuid.UUID | None = None
    """The op's id, also for a rejected op whose id is readable."""
    metadata_json: str | None = None
    """A create's metadata as JSON text, encoded once (checked, then stored as is)."""


def _readable_op_id(value: Any) -> uuid.UUID | None:
    try:
        return msgspec.convert(value, uuid.UUID, strict=False)
    except msgspec.ValidationError:
        return None


def parse_ops(values: list[Any]) -> list[ParsedOp]:
    """`parse_op` of each op of a push: the whole list converted at once when every op has
    the right types (the common case, about twice as fast), else op by op."""
    try:
        ops = msgspec.convert(values, list[Op], strict=False)
    except msgspec.ValidationError:
        return [parse_op(value) for value in values]
    return [_checked(op) for op in ops]


def parse_op(value: Any) -> ParsedOp:
    """Check one decoded JSON op of a push. An op without a usable `seq` raises
    `msgspec.ValidationError` (the whole push is refused); any other problem makes it a
    rejected op."""
    try:
        op = msgspec.convert(value, Op, strict=False)
    except msgspec.ValidationError as exc:
        identity = msgspec.convert(value, OpIdentity, strict=False)  # raises without a seq
        message = str(exc)
        code: RejectCode = "too_long" if "length <=" in message else "invalid"
        return ParsedOp(identity.seq, None, Problem(code, message), _readable_op_id(identity.op_id))
    return _checked(op)


def _checked(op: Op) -> ParsedOp:
    metadata = None
    if op.data is not None and op.data.metadata is not None:
        metadata = msgspec.json.encode(op.data.metadata).decode()
    problem = op_problem(op, metadata)
    return ParsedOp(op.seq, None if problem else op, problem, op.op_id, metadata)


def op_problem(op: Op, metadata: str | None) -> Problem | None:
    """What is wrong with a well-typed op (`metadata`: its metadata as JSON text)."""
    if op.kind == "create":
        if op.data is None or op.target is not None:
            return Problem("wrong_shape", "a create op carries `data` and no `target`")
        if metadata is not None and len(metadata.encode()) > MAX_METADATA_BYTES:
            return Problem("metadata_too_large", f"`metadata` is over {MAX_METADATA_BYTES} bytes")
        # JSON text can only hold a NUL escaped (in a key or a value, at any depth).
        if NUL in op.data.expression or NUL in op.data.result or "\\u0000" in (metadata or ""):
            return Problem(
                "nul_character", "the op holds a NUL character (U+0000), which cannot be stored"
            )
    elif op.target is None or op.data is not None or op.entry_id is not None:
        return Problem("wrong_shape", "a delete op carries `target` and no `data` or `entry_id`")
    return None


class Window(msgspec.Struct, frozen=True):
    """The live window of `created_at`: [earliest, latest]."""

    earliest: datetime
    latest: datetime

    def holds(self, moment: datetime) -> bool:
        return self.earliest <= moment <= self.latest


# ---------------------------------------------------------------- pull


class PullRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    device_id: uuid.UUID
    cursor: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PULL)] = DEFAULT_PULL
    account_id: uuid.UUID | None = None
    """As in a push: the account whose synced cache this is (optional)."""
    poke_at_ms: Annotated[int, msgspec.Meta(ge=0, le=2**53)] | None = None
    """The `at_ms` of the live sync poke this pull answers (telemetry only; optional)."""


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
    metadata: msgspec.Raw | None
    """A JSON object, as stored."""


class PullResponse(msgspec.Struct, frozen=True):
    items: list[PullItem]
    next_cursor: str | None
    has_more: bool
    acked_through: int
    server_time: datetime
    version: int = 0
    """The account's version when the page was read: a device that pulled until `has_more`
    is false holds everything up to it (live sync pokes name versions)."""


class Position(msgspec.Struct, frozen=True, array_like=True):
    """Where a history page ends: the last row's (created_at µs, id); in the first version
    of the protocol, also where a pull page ended: (version, id). PostgreSQL bigints: a
    cursor holding anything larger is not one of ours."""

    first: BIGINT
    id: BIGINT


class PullPosition(msgspec.Struct, frozen=True, array_like=True):
    """Where a pull page ends: the account's epoch, then the last row's (version, id)."""

    epoch: BIGINT
    version: BIGINT
    id: BIGINT


class ExpiredCursor(msgspec.Struct, frozen=True):
    """A cursor of ours that can no longer be used (the first version's, without epoch)."""


def encode_cursor(position: Position | PullPosition) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode().rstrip("=")


def _cursor_bytes(cursor: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_cursor(cursor: str) -> Position | None:
    """The position of an opaque history cursor, or None when it is not one of ours."""
    raw = _cursor_bytes(cursor)
    try:
        return None if raw is None else msgspec.json.decode(raw, type=Position)
    except (ValueError, msgspec.DecodeError):
        return None


def decode_pull_cursor(cursor: str) -> PullPosition | ExpiredCursor | None:
    """The position of an opaque pull cursor; `ExpiredCursor` for one of the first version's;
    None when it is not one of ours."""
    raw = _cursor_bytes(cursor)
    if raw is None:
        return None
    try:
        return msgspec.json.decode(raw, type=PullPosition)
    except (ValueError, msgspec.DecodeError):
        pass
    try:
        msgspec.json.decode(raw, type=Position)
    except (ValueError, msgspec.DecodeError):
        return None
    return ExpiredCursor()


# ---------------------------------------------------------------- history


class HistoryItem(msgspec.Struct, frozen=True):
    device_id: uuid.UUID | None
    seq: int | None
    created_at: datetime
    expression: str
    result: str
    metadata: msgspec.Raw | None
    """A JSON object, as stored."""


class HistoryPage(msgspec.Struct, frozen=True):
    items: list[HistoryItem]
    next_cursor: str | None
