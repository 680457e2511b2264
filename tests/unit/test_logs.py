"""Log formats and request ids, without I/O: a tiny ASGI app behind the real middleware."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import cast

import pytest
from litestar.types import (
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    Scope,
    Send,
)

from backend.settings import PROJECT_ROOT
from backend.web.edge import Edge
from backend.web.logs import JsonFormatter, TextFormatter, formatter
from backend.web.metrics import Metrics
from backend.web.request_id import accepted_request_id, current_request_id
from backend.web.static import Shell


class Lines(logging.Handler):
    """Formats each record when it is logged (in the request's context), keeps the lines."""

    def __init__(self, fmt: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(fmt)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("calcapp.test-logs")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger
    logger.handlers.clear()


async def logging_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Logs a line and an exception, then answers 204."""
    logger = logging.getLogger("calcapp.test-logs")
    logger.info("handling %s", scope["path"])
    try:
        raise ValueError("boom with sk_test_abc123DEF and whsec_s3cr3t")
    except ValueError:
        logger.exception("it failed")
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 204, "headers": []}
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
    await send(start)
    await send(body)


async def call(request_id: bytes | None) -> dict[str, str]:
    """One request through the edge layer; returns the answer's headers."""
    headers = [] if request_id is None else [(b"x-request-id", request_id)]
    scope = cast("HTTPScope", {"type": "http", "method": "GET", "path": "/x", "headers": headers})
    sent: list[Message] = []

    async def receive() -> HTTPRequestEvent:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    edge = Edge(
        logging_app,
        metrics=Metrics(),
        shell=Shell(PROJECT_ROOT / "pwa", watch=False),
        security_headers=[],
    )
    await edge(scope, receive, send)
    start = sent[0]
    assert start["type"] == "http.response.start"
    return {k.decode(): v.decode() for k, v in start["headers"]}


async def test_json_lines_carry_the_request_id_and_the_exception(
    app_logger: logging.Logger,
) -> None:
    handler = Lines(JsonFormatter())
    app_logger.addHandler(handler)
    headers = await call(b"req-42")
    assert headers["x-request-id"] == "req-42"

    info, error = (json.loads(line) for line in handler.lines)
    assert info["message"] == "handling /x"
    assert (info["level"], info["logger"], info["request_id"]) == (
        "INFO",
        "calcapp.test-logs",
        "req-42",
    )
    assert info["time"].endswith("Z") and "T" in info["time"]
    assert "exception" not in info
    assert (error["level"], error["request_id"]) == ("ERROR", "req-42")
    assert "Traceback" in error["exception"] and "ValueError" in error["exception"]
    assert "sk_test_abc123DEF" not in error["exception"]
    assert "whsec_s3cr3t" not in error["exception"]
    assert current_request_id() is None  # the context ends with the request


async def test_an_invalid_incoming_id_is_replaced_in_logs_and_header(
    app_logger: logging.Logger,
) -> None:
    handler = Lines(JsonFormatter())
    app_logger.addHandler(handler)
    headers = await call(b"not valid!")
    generated = headers["x-request-id"]
    assert len(generated) == 32 and generated != "not valid!"
    assert {json.loads(line)["request_id"] for line in handler.lines} == {generated}


async def test_the_text_format_shows_the_request_id(app_logger: logging.Logger) -> None:
    handler = Lines(TextFormatter())
    app_logger.addHandler(handler)
    await call(b"abc")
    assert " INFO calcapp.test-logs [abc]: handling /x" in handler.lines[0]
    assert "[redacted]" in handler.lines[1]


def test_outside_a_request_there_is_no_id() -> None:
    record = logging.LogRecord("calcapp", logging.WARNING, __file__, 1, "hi %s", ("there",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hi there" and entry["request_id"] is None
    assert TextFormatter().format(record).endswith(" WARNING calcapp: hi there")


def test_production_gets_json_and_development_text() -> None:
    assert isinstance(formatter(production=True), JsonFormatter)
    assert isinstance(formatter(production=False), TextFormatter)


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [
        (b"abc", "abc"),
        (b"A.b_c-9", "A.b_c-9"),
        (b"x" * 64, "x" * 64),
        (b"x" * 65, None),
        (b"", None),
        (b"a b", None),
        (b"a/b", None),
        (b"caf\xc3\xa9", None),
        (b"a\nb", None),
        (None, None),
    ],
)
def test_which_incoming_ids_are_kept(raw: bytes | None, accepted: str | None) -> None:
    assert accepted_request_id(raw) == accepted
