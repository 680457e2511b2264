"""`/sync/push`, `/sync/pull` and `/history`: thin handlers over `sync` (docs/sync-protocol.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.auth import Account, requires_premium, requires_user
from backend.live.hub import now_ms
from backend.ratelimit import RateLimitedError
from backend.web.deps import Provided
from backend.web.errors import (
    AppError,
    BadRequestError,
    InvalidFieldError,
    NotAuthenticatedError,
    PremiumRequiredError,
    ServiceUnavailableError,
)
from backend.web.metrics import Metrics
from backend.web.openapi import JSON_BODY, failures
from sync import history as history_query
from sync import pull as pull_query
from sync import push as push_ops
from sync.driver import driver
from sync.partitions import Partitions
from sync.protocol import (
    MAX_BYTES,
    MAX_OPS,
    NO_NUL,
    ExpiredCursor,
    HistoryPage,
    ParsedOp,
    Position,
    PullPosition,
    PullRequest,
    PullResponse,
    PushEnvelope,
    PushResponse,
    decode_cursor,
    decode_pull_cursor,
    parse_ops,
)

LOCK_NOT_AVAILABLE = "55P03"
# A person's devices push after each calculation (and a queue in batches of 500): far below
# this; a script hammering the endpoint is not. Counted in the push's own account lock.
PUSHES_PER_MINUTE = 300


class BatchTooLargeError(AppError):
    status_code = 413
    code = "batch_too_large"
    doc = f"over {MAX_OPS} ops (send half)"


class DeviceUserMismatchError(AppError):
    status_code = 409
    code = "device_user_mismatch"
    doc = "the device id belongs to another account"


class CursorExpiredError(AppError):
    status_code = 409
    code = "cursor_expired"
    doc = "pull again from `cursor: null`"


class AccountMismatchError(AppError):
    status_code = 409
    code = "account_mismatch"
    doc = (
        "`account_id` is not the signed-in account (stop; send only when that account signs "
        "in again)"
    )


class HistoryBusyError(ServiceUnavailableError):
    code = "history_busy"
    doc = (
        "the history stayed busy (a table lock, or the device's other pushes); try again "
        "after `Retry-After`"
    )


# The failures of both sync calls: who may sync, and from which device.
SYNC_CALL = (
    *JSON_BODY,
    NotAuthenticatedError,
    PremiumRequiredError,
    DeviceUserMismatchError,
    AccountMismatchError,
)


def sync_member(account: Account, account_id: uuid.UUID | None) -> Account:
    """The premium account whose outbox or cache the request carries: 409 `account_mismatch`
    when it names another account (before 403 `premium_required`: the device stops until its
    own account signs in again, whether or not this one is premium)."""
    if account_id is not None and account_id != account.id:
        raise AccountMismatchError(
            "This device's queue belongs to another account: it syncs when that account "
            "signs in again"
        )
    if not account.premium:
        raise PremiumRequiredError("Sync and server history are part of Calcapp Premium")
    return account


def _cursor(value: str | None, field: str) -> Position | None:
    if value is None:
        return None
    position = decode_cursor(value)
    if position is None:
        raise InvalidFieldError(field, "is not a cursor this server gave out")
    return position


def _pull_cursor(value: str | None) -> PullPosition | None:
    if value is None:
        return None
    position = decode_pull_cursor(value)
    if position is None:
        raise InvalidFieldError("cursor", "is not a cursor this server gave out")
    if isinstance(position, ExpiredCursor):
        raise CursorExpiredError("The cursor is no longer valid: pull from the start")
    return position


async def _prepare_partitions(
    partitions: Partitions, engine: AsyncEngine, ops: list[ParsedOp]
) -> None:
    """The partitions of the creates' months, before the push takes a connection (a request
    holding one while it waits for a second would, with as many such requests as the pool has
    connections, leave the pool waiting on itself)."""
    moments = [p.op.created_at for p in ops if p.op is not None and p.op.kind == "create"]
    if not partitions.unknown(moments):
        return
    try:
        await partitions.prepare(engine, moments)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise HistoryBusyError(
            "The history is being reorganised: try again in a moment",
            headers={"Retry-After": "2"},
        ) from exc


@dataclass(frozen=True, slots=True)
class SyncParts:
    """What the sync routes need of the app, as their one dependency: Litestar resolves two
    or more dependencies of a handler in a task group, which a py-spy profile put at a tenth
    of a push's CPU. The account comes from `request.user` (the routers' guards)."""

    state: State
    partitions: Partitions
    metrics: Metrics

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.state.engine  # made when the app starts
        return engine

    @property
    def autocommit(self) -> AsyncEngine:
        """The engine without transactions: each statement commits on its own (no BEGIN and
        COMMIT round trips; the reads need none, under READ COMMITTED each statement of a
        transaction takes its own snapshot anyway, and a push is one statement)."""
        engine: AsyncEngine = self.state.read_engine
        return engine


@post(
    "/sync/push",
    status_code=HTTP_200_OK,
    request_max_body_size=MAX_BYTES,
    summary="Send a batch of the device's queued operations",
    responses=failures(*SYNC_CALL, BatchTooLargeError, RateLimitedError, HistoryBusyError),
)
async def push(
    data: JSONBody[PushEnvelope],
    request: Request[Account, Any, Any],
    sync: Provided[SyncParts],
) -> PushResponse:
    if len(data.ops) > MAX_OPS:
        raise BatchTooLargeError(f"At most {MAX_OPS} ops a request: send half")
    try:
        ops = parse_ops(data.ops)
    except msgspec.ValidationError as exc:
        raise InvalidFieldError("ops", f"every op needs an integer seq from 1 ({exc})") from exc
    user = sync_member(request.user, data.account_id)
    partitions, engine = sync.partitions, sync.engine
    await _prepare_partitions(partitions, engine, ops)
    try:
        # On the driver, outside a transaction: the push is one statement, its own.
        async with sync.autocommit.connect() as conn, driver(conn) as raw:
            answer = await push_ops.push(
                raw, user.id, data.device_id, ops, pushes_per_minute=PUSHES_PER_MINUTE
            )
    except push_ops.TooManyPushesError as exc:
        raise RateLimitedError(
            f"Too many pushes for this account: try again in {exc.retry_after} s",
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    except push_ops.DeviceOfAnotherUserError as exc:
        raise DeviceUserMismatchError("This device id belongs to another account") from exc
    except push_ops.PushContendedError as exc:
        raise HistoryBusyError(
            "This device's other push is being applied: try again in a moment",
            headers={"Retry-After": "1"},
        ) from exc
    except push_ops.PartitionMissingError as exc:
        partitions.known.clear()
        raise HistoryBusyError(
            "The history is being reorganised: try again in a moment",
            headers={"Retry-After": "1"},
        ) from exc
    sync.metrics.record_push(answer.results, data.outbox_oldest_age_ms)
    return answer


@post(
    "/sync/pull",
    status_code=HTTP_200_OK,
    summary="Fetch what changed since a cursor",
    responses=failures(*SYNC_CALL, CursorExpiredError),
)
async def pull(
    data: JSONBody[PullRequest],
    request: Request[Account, Any, Any],
    sync: Provided[SyncParts],
) -> PullResponse:
    user = sync_member(request.user, data.account_id)
    sync.metrics.record_pull(data.poke_at_ms, now_ms())
    after = _pull_cursor(data.cursor)
    try:
        async with sync.autocommit.connect() as conn:
            return await pull_query.pull(conn, user.id, data.device_id, after, data.limit)
    except push_ops.DeviceOfAnotherUserError as exc:
        raise DeviceUserMismatchError("This device id belongs to another account") from exc
    except pull_query.CursorExpiredError as exc:
        raise CursorExpiredError("The cursor is no longer valid: pull from the start") from exc


@get(
    "/history",
    summary="The history, newest first, optionally filtered by expression",
    responses=failures(
        BadRequestError, InvalidFieldError, NotAuthenticatedError, PremiumRequiredError
    ),
)
async def history(
    request: Request[Account, Any, Any],
    sync: Provided[SyncParts],
    limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    before: Annotated[str | None, Parameter(max_length=100)] = None,
    q: Annotated[str | None, Parameter(min_length=1, max_length=100, pattern=NO_NUL)] = None,
) -> HistoryPage:
    after = _cursor(before, "before")
    user_id = request.user.id
    if q:  # a transaction of its own: the search sets its planning for itself (SET LOCAL)
        async with sync.engine.begin() as conn:
            return await history_query.history(conn, user_id, limit, after, q)
    async with sync.autocommit.connect() as conn:
        return await history_query.history(conn, user_id, limit, after, q)


def router() -> Router:
    return Router(
        path="/",
        guards=[requires_user],
        route_handlers=[
            push,
            pull,
            Router(path="/", guards=[requires_premium], route_handlers=[history]),
        ],
        tags=["premium history"],
    )
