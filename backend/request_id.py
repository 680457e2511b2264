"""A request id for every HTTP request, and one access-log line per request.

The id is the caller's `X-Request-ID` when it is a plausible one (1 to 64 characters of
`[A-Za-z0-9._-]`: a proxy's or a client's), otherwise a new uuid4 in hex. It is kept in a
context variable for the log formatters (backend/logs.py) and sent back in the
`X-Request-ID` header of every answer, errors included.

The access line replaces uvicorn's, which logs the query string: it names the method, the
path without its query, the status and the time taken, never headers, cookies or bodies.

This wraps the whole application (not a Litestar route middleware), so that requests that
match no route (404, 405) get an id too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
MAX_LENGTH = 64
_VALID = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_LENGTH}}}")

_request_id: ContextVar[str | None] = ContextVar("calcapp_request_id", default=None)
access_logger = logging.getLogger("calcapp.access")


def current_request_id() -> str | None:
    """The id of the request being handled in this context, or None outside of one."""
    return _request_id.get()


def accepted_request_id(raw: bytes | None) -> str | None:
    """The incoming header's value when it is usable as our id, else None."""
    if raw is None:
        return None
    try:
        value = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return value if _VALID.fullmatch(value) else None


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k.lower() == HEADER.encode()), None)
        request_id = accepted_request_id(incoming) or uuid.uuid4().hex
        token = _request_id.set(request_id)
        method, path = scope["method"], scope["path"]  # the router may rewrite scope["path"]
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before it starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            access_logger.info(
                "%s %s %d %.1fms",
                method,
                path,
                status,
                elapsed_ms,
                extra={
                    "http_method": method,
                    "http_path": path,
                    "http_status": status,
                    "duration_ms": elapsed_ms,
                },
            )
            _request_id.reset(token)
