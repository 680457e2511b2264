"""`/sync/push`, `/sync/pull` and `/history`: thin handlers over `sync.engine`."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Router, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.accounts.sessions import Viewer, signed_in
from backend.deps import Provided
from backend.errors import AppError, InvalidFieldError
from backend.metrics import Metrics
from backend.openapi import JSON_BODY, failures
from sync import engine
from sync.protocol import (
    MAX_BYTES,
    MAX_OPS,
    NO_NUL,
    HistoryPage,
    Position,
    PullRequest,
    PullResponse,
    PushEnvelope,
    PushResponse,
    decode_cursor,
    op_seq,
    parse_op,
)

PREMIUM_REQUIRED = "`premium_required`: the account is not premium"
DEVICE_USER_MISMATCH = "`device_user_mismatch`: the device id belongs to another account"


class PremiumRequiredError(AppError):
    status_code = 403
    code = "premium_required"


class BatchTooLargeError(AppError):
    status_code = 413
    code = "batch_too_large"


class DeviceUserMismatchError(AppError):
    status_code = 409
    code = "device_user_mismatch"


class CursorExpiredError(AppError):
    status_code = 409
    code = "cursor_expired"


def premium_member(viewer: Viewer) -> User:
    """The signed-in premium user, or 401 / 403 `premium_required`."""
    user = signed_in(viewer)
    if not viewer.premium:
        raise PremiumRequiredError("Sync and server history are part of Calcapp Premium")
    return user


def _cursor(value: str | None, field: str) -> Position | None:
    if value is None:
        return None
    position = decode_cursor(value)
    if position is None:
        raise InvalidFieldError(field, "is not a cursor this server gave out")
    return position


@post(
    "/sync/push",
    status_code=HTTP_200_OK,
    request_max_body_size=MAX_BYTES,
    summary="Send a batch of the device's queued operations",
    responses=failures(
        *JSON_BODY,
        401,
        codes={
            403: PREMIUM_REQUIRED,
            409: DEVICE_USER_MISMATCH,
            413: f"`batch_too_large`: over {MAX_OPS} ops (send half)",
        },
    ),
)
async def push(
    data: JSONBody[PushEnvelope],
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    metrics: Provided[Metrics],
) -> PushResponse:
    if len(data.ops) > MAX_OPS:
        raise BatchTooLargeError(f"At most {MAX_OPS} ops a request: send half")
    try:
        for op in data.ops:
            op_seq(op)
    except msgspec.ValidationError as exc:
        raise InvalidFieldError("ops", f"every op needs an integer seq from 1 ({exc})") from exc
    user = premium_member(viewer)
    ops = [parse_op(raw) for raw in data.ops]
    conn = await db_session.connection()
    try:
        answer = await engine.push(conn, user.id, data.device_id, ops)
    except engine.DeviceOfAnotherUserError as exc:
        raise DeviceUserMismatchError("This device id belongs to another account") from exc
    metrics.record_push(answer.results, data.outbox_oldest_age_ms)
    return answer


@post(
    "/sync/pull",
    status_code=HTTP_200_OK,
    summary="Fetch what changed since a cursor",
    responses=failures(
        *JSON_BODY,
        401,
        codes={
            403: PREMIUM_REQUIRED,
            409: f"`cursor_expired`: pull again from `cursor: null`; {DEVICE_USER_MISMATCH}",
        },
    ),
)
async def pull(
    data: JSONBody[PullRequest],
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
) -> PullResponse:
    user = premium_member(viewer)
    after = _cursor(data.cursor, "cursor")
    conn = await db_session.connection()
    try:
        return await engine.pull(conn, user.id, data.device_id, after, data.limit)
    except engine.DeviceOfAnotherUserError as exc:
        raise DeviceUserMismatchError("This device id belongs to another account") from exc
    except engine.CursorExpiredError as exc:
        raise CursorExpiredError("The cursor is no longer valid: pull from the start") from exc


@get(
    "/history",
    summary="The history, newest first, optionally filtered by expression",
    responses=failures(
        401, 422, codes={400: "`bad_request`: a malformed request", 403: PREMIUM_REQUIRED}
    ),
)
async def history(
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    before: Annotated[str | None, Parameter(max_length=100)] = None,
    q: Annotated[str | None, Parameter(min_length=1, max_length=100, pattern=NO_NUL)] = None,
) -> HistoryPage:
    user = premium_member(viewer)
    conn = await db_session.connection()
    return await engine.history(conn, user.id, limit, _cursor(before, "before"), q)


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[push, pull, history],
        tags=["premium history"],
    )
