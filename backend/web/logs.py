"""Log formats: readable lines in development, one JSON object per line in production.

Both show the id of the request being handled (backend/web/request_id.py), and both scrub what
looks like a Stripe secret key or webhook secret from messages and tracebacks, as a last line
of defence: nothing is meant to log secrets in the first place (no headers, cookies, bodies
or query strings are logged; SQL parameters are hidden from database errors).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from backend.settings import Settings
from backend.web.request_id import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s"
_SECRETS = re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9+/=]+")
EXTRA_FIELDS = ("http_method", "http_path", "http_status", "duration_ms")
"""Structured fields some records carry (the access log's), copied into the JSON object."""


def redact(text: str) -> str:
    return _SECRETS.sub("[redacted]", text)


def _request_id(record: logging.LogRecord) -> str | None:
    value = getattr(record, "request_id", None)
    return value if isinstance(value, str) else current_request_id()


class TextFormatter(logging.Formatter):
    """`2026-01-01 10:00:00,000 INFO calcapp.access [<request id>]: GET / 200 1.2ms`."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        request_id = _request_id(record)
        record.request_tag = f" [{request_id}]" if request_id else ""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id
    (null outside a request), the access log's fields, and `exception` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": _request_id(record),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(production: bool) -> logging.Formatter:
    return JsonFormatter() if production else TextFormatter()


def configure_logging(settings: Settings) -> None:
    """Readable lines in development, one JSON object per line in production (backend/web/logs.py);
    both carry the request id."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(settings.is_production))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    # The Stripe SDK logs every request and response at INFO: keep its warnings only.
    if settings.log_level != "DEBUG":
        logging.getLogger("stripe").setLevel(logging.WARNING)
