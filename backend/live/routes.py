"""`GET /sync/events`: live sync pokes as Server-Sent Events (docs/sync-protocol.md).

The stream sends the account's current version at once (unless `Last-Event-ID` names it
already), then one `poke` event each time a push changes the account's history (the newest
version only, never calculation data), and a comment every 25 s so that proxies keep it open.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, get
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.auth import Account, requires_premium
from backend.live.hub import Hub, HubClosedError, Stream, TooManyStreamsError, now_ms
from backend.web.deps import Provided
from backend.web.errors import (
    NotAuthenticatedError,
    PremiumRequiredError,
    ServiceUnavailableError,
)
from backend.web.metrics import Metrics
from backend.web.openapi import failures

HEARTBEAT_SECONDS = 25.0
RETRY_MS = 5000
"""What a browser's EventSource waits before reconnecting (the PWA backs off by itself)."""
VERSION = text("SELECT version FROM sync_user WHERE user_id = :user_id")


class TooManyStreamsOpenError(ServiceUnavailableError):
    code = "too_many_streams"
    doc = "this server holds as many streams as it may; try again after `Retry-After`"


class ServerStoppingError(ServiceUnavailableError):
    code = "server_stopping"
    doc = "the server is stopping; reconnect after `Retry-After`"


def poke_event(version: int, at_ms: int) -> bytes:
    data = f'{{"version":{version},"at_ms":{at_ms}}}'
    return f"id: {version}\nevent: poke\ndata: {data}\n\n".encode()


def _last_event_id(request: Request[Any, Any, Any]) -> int | None:
    value = request.headers.get("last-event-id", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


START_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"x-accel-buffering", b"no"),
    (b"cache-control", b"no-store"),
]
RETRY = f"retry: {RETRY_MS}\n\n".encode()
KEEP_ALIVE = b": keep-alive\n\n"


class EventStream:
    """The answer, as a plain ASGI app: a stream holds no response object, task group or
    iterator of Litestar's, and a poke is one `send` (measured: bench/live.py)."""

    def __init__(self, hub: Hub, stream: Stream, metrics: Metrics, heartbeat: float) -> None:
        self.hub = hub
        self.stream = stream
        self.metrics = metrics
        self.heartbeat = heartbeat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stream = self.stream
        watcher = asyncio.create_task(self._until_disconnect(receive))
        try:
            # A list of its own: the layers in between add to it (the CSRF cookie, say).
            headers = list(START_HEADERS)
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": RETRY, "more_body": True})
            while not stream.closed:
                if stream.pending:
                    stream.sent = stream.version
                    chunk = poke_event(stream.version, stream.heard_at_ms)
                    self.metrics.pokes_sent.inc()
                else:
                    stream.wake.clear()
                    try:  # a timer handle, not a task a wait (asyncio.wait_for makes one)
                        async with asyncio.timeout(self.heartbeat):
                            await stream.wake.wait()
                        continue
                    except TimeoutError:
                        chunk = KEEP_ALIVE
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            self.hub.remove(stream)

    async def _until_disconnect(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.stream.close()


@get(
    "/sync/events",
    summary="Live sync: a stream of pokes naming the account's newest version",
    media_type="text/event-stream",
    guards=[requires_premium],
    responses=failures(
        NotAuthenticatedError, PremiumRequiredError, TooManyStreamsOpenError, ServerStoppingError
    ),
)
async def events(
    request: Request[Any, Any, Any],
    db_session: Provided[AsyncSession],
    account: Provided[Account],
    hub: Provided[Hub],
    metrics: Provided[Metrics],
) -> ASGIApp:
    try:
        stream = hub.open(account.id, account.session_id)
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
        version = await db_session.scalar(VERSION, {"user_id": account.id}) or 0
    except BaseException:
        hub.remove(stream)
        raise
    if _last_event_id(request) == version:
        stream.sent = version
    stream.poke(version, now_ms())
    return EventStream(hub, stream, metrics, HEARTBEAT_SECONDS)
