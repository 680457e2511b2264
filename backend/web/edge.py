"""The one ASGI layer in front of the app: what every answer needs, in one pass.

- a request id (`X-Request-ID`: the caller's when it is a plausible one, 1 to 64 characters of
  `[A-Za-z0-9._-]`, otherwise a new one), kept in a context variable for the log formatters;
- one access-log line (method, path without the query, status, time) and the Prometheus
  request counters (by route template: `/{path}` for the web app's files, `unmatched` for a
  path no route serves);
- the security headers (precomputed bytes), and `Cache-Control: no-store` on every answer
  under `/api/` and `/metrics`, errors included;
- `HEAD` wherever `GET` works (the app sees a GET; the body is dropped);
- the PWA's files straight from memory (`backend/web/static.py`: headers and bodies made once, 304s,
  the encoding chosen by `Accept-Encoding`), without routing, dependency injection or a CSRF
  cookie, and the same for answers ready in advance (`answers`: the liveness probe's while it
  is fresh); everything else goes to Litestar.

It wraps the whole application (not a Litestar middleware), so that requests that match no
route (404, 405) are counted, logged and given an id too.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from backend.web import request_id as ids
from backend.web.metrics import Metrics
from backend.web.static import Shell

HEADER = ids.HEADER
NO_STORE_PATHS = ("/api/", "/metrics")
"""Answers that carry user data or live state: never stored by a browser or a proxy."""
NO_STORE = (b"cache-control", b"no-store")
FILES_ROUTE = "/{path}"
UNMATCHED = "unmatched"

access_logger = logging.getLogger("calcapp.access")

Headers = list[tuple[bytes, bytes]]


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


JSON = (b"content-type", b"application/json")


async def _send_json(send: Send, body: bytes, *, head: bool, extra: Headers) -> None:
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": 200, "headers": [JSON, length, *extra]})
    await send({"type": "http.response.body", "body": b"" if head else body, "more_body": False})


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        shell: Shell,
        security_headers: Headers,
        answers: Mapping[str, Callable[[], bytes | None]] | None = None,
    ) -> None:
        """`answers`: by path, a JSON body to answer a GET or HEAD with at once (200), or None
        to let the app answer."""
        self.app = app
        self.metrics = metrics
        self.shell = shell
        self.security_headers = security_headers
        self.answers = dict(answers or {})

    async def __call__(self, any_scope: Scope, receive: Receive, send: Send) -> None:
        if any_scope["type"] != ScopeType.HTTP:
            await self.app(any_scope, receive, send)
            return
        scope: HTTPScope = any_scope
        request_headers = scope["headers"]
        request_id = ids.accepted_request_id(_header(request_headers, HEADER)) or uuid.uuid4().hex
        token = ids.enter(request_id)
        method, path = scope["method"], scope["path"]  # the router may rewrite scope["path"]
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before it starts a response
        route = UNMATCHED
        try:
            ready = self.answers.get(path) if method in ("GET", "HEAD") else None
            body = ready() if ready is not None else None
            if body is not None:
                route, status = path, 200
                extra = self._extra(request_id, no_store=path.startswith(NO_STORE_PATHS))
                await _send_json(send, body, head=method == "HEAD", extra=extra)
                return
            asset = (
                self.shell.asset_for(path)
                if method in ("GET", "HEAD") and not path.startswith(NO_STORE_PATHS)
                else None
            )
            if asset is not None:
                route = FILES_ROUTE
                status = await self.shell.send(
                    asset,
                    request_headers,
                    send,
                    head=method == "HEAD",
                    extra=self._extra(request_id, no_store=False),
                )
                return
            extra = self._extra(request_id, no_store=path.startswith(NO_STORE_PATHS))
            head = method == "HEAD"

            async def send_with_headers(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = [h for h in message.get("headers", ()) if h[0].lower() not in OURS]
                    present = {name.lower() for name, _ in headers}
                    headers.extend(h for h in extra if h[0] in OURS or h[0] not in present)
                    message["headers"] = headers
                elif head and message["type"] == "http.response.body":
                    message = {**message, "body": b""}
                await send(message)

            if head:
                scope = cast("HTTPScope", {**scope, "method": "GET"})
            await self.app(scope, receive, send_with_headers)
            route = scope.get("path_template") or UNMATCHED
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(method, route, status, elapsed)
            elapsed_ms = round(elapsed * 1000, 1)
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
            ids.leave(token)

    def _extra(self, request_id: str, *, no_store: bool) -> Headers:
        extra = [(HEADER, request_id.encode()), *self.security_headers]
        if no_store:
            extra.append(NO_STORE)
        return extra


OURS = frozenset({HEADER, NO_STORE[0]})
"""Set by this layer whatever the app said (the request id; no-store under /api/)."""
