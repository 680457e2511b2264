"""The one error of the operator commands: what they cannot do, in one line for the operator.

`calcapp` prints it and exits 2 (backend/cli/__init__.py catches it in one place)."""

from __future__ import annotations


class OperatorError(RuntimeError):
    """A command that cannot be done; the message is one line the operator can act on."""


def reason(exc: BaseException) -> str:
    """Why `exc` happened, in one line (an OSError's strerror: "No space left on device")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    message = str(exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__
