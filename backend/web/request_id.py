"""The id of the request being handled, for the log formatters (backend/web/logs.py).

The edge layer (backend/web/edge.py) sets it for each request: the caller's `X-Request-ID` when it
is a plausible one (1 to 64 characters of `[A-Za-z0-9._-]`: a proxy's or a client's),
otherwise a new uuid4 in hex, and sends it back in the answer, errors included.
"""

from __future__ import annotations

import re
from contextvars import ContextVar, Token

HEADER = b"x-request-id"
MAX_LENGTH = 64
_VALID = re.compile(rb"[A-Za-z0-9._-]{1,%d}" % MAX_LENGTH)

_request_id: ContextVar[str | None] = ContextVar("calcapp_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context, or None outside of one."""
    return _request_id.get()


def accepted_request_id(raw: bytes | None) -> str | None:
    """The incoming header's value when it is usable as our id, else None."""
    if raw is None or not _VALID.fullmatch(raw):
        return None
    return raw.decode("ascii")


def enter(request_id: str) -> Token[str | None]:
    return _request_id.set(request_id)


def leave(token: Token[str | None]) -> None:
    _request_id.reset(token)
