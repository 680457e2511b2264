"""`GET /sync/events`: live sync pokes as Server-Sent Events (docs/sync-protocol.md).

The stream sends the account's current version at once (unless `Last-Event-ID` names it
already), then one `poke` event each time a push changes the account's history (the newest
version only, never calculation data), and a comment every 25 s so that proxies keep it open.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, get
from litestar.response import Stream as StreamResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.sessions import Viewer
from backend.deps import Provided
from backend.errors import ServiceUnavailableError
from backend.history.routes import PREMIUM_REQUIRED, premium_member
from backend.live.hub import Hub, HubClosedError, Stream, TooManyStreamsError, now_ms
from backend.metrics import Metrics
from backend.openapi import failures

HEARTBEAT_SECONDS = 25.0
RETRY_MS = 5000
"""What a browser's EventSource waits before reconnecting (the PWA backs off by itself)."""
HEADERS = {"X-Accel-Buffering": "no"}
VERSION = text("SELECT version FROM sync_user WHERE user_id = :user_id")


class TooManyStreamsOpenError(ServiceUnavailableError):
    code = "too_many_streams"


class ServerStoppingError(ServiceUnavailableError):
    code = "server_stopping"


def poke_event(version: int, at_ms: int) -> bytes:
    data = json.dumps({"version": version, "at_ms": at_ms}, separators=(",", ":"))
    return f"id: {version}\nevent: poke\ndata: {data}\n\n".encode()


def _last_event_id(request: Request[Any, Any, Any]) -> int | None:
    value = request.headers.get("last-event-id", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


async def _events(
    hub: Hub, stream: Stream, metrics: Metrics, heartbeat: float
) -> AsyncIterator[bytes]:
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        while not stream.closed:
            if stream.pending:
                stream.sent = stream.version
                yield poke_event(stream.version, stream.heard_at_ms)
                metrics.pokes_sent.inc()
                continue
            stream.wake.clear()
            try:
                await asyncio.wait_for(stream.wake.wait(), heartbeat)
            except TimeoutError:
                yield b": keep-alive\n\n"
    finally:
        hub.remove(stream)


@get(
    "/sync/events",
    summary="Live sync: a stream of pokes naming the account's newest version",
    media_type="text/event-stream",
    responses=failures(
        401,
        codes={
            403: PREMIUM_REQUIRED,
            503: "`too_many_streams`: this server holds as many streams as it may; "
            "`server_stopping`; try again after `Retry-After`",
        },
    ),
)
async def events(
    request: Request[Any, Any, Any],
    db_session: Provided[AsyncSession],
    viewer: Provided[Viewer],
    hub: Provided[Hub],
    metrics: Provided[Metrics],
) -> StreamResponse:
    user = premium_member(viewer)
    assert viewer.session_id is not None  # signed in
    try:
        stream = hub.open(user.id, viewer.session_id)
    except TooManyStreamsError as exc:
        raise TooManyStreamsOpenError(
            "Too many live connections to this server: try again later",
            headers={"Retry-After": "30"},
        ) from exc
    except HubClosedError as exc:
        raise ServerStoppingError(
            "This server is stopping: try again in a moment", headers={"Retry-After": "1"}
        ) from exc
    try:
        version = await db_session.scalar(VERSION, {"user_id": user.id}) or 0
    except BaseException:
        hub.remove(stream)
        raise
    if _last_event_id(request) == version:
        stream.sent = version
    stream.poke(version, now_ms())
    return StreamResponse(
        _events(hub, stream, metrics, HEARTBEAT_SECONDS),
        media_type="text/event-stream",
        headers=HEADERS,
    )
