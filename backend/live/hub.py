"""The open event streams of one process, and the pokes they carry.

A stream belongs to a signed-in premium session. A poke says "the account's history is at
version v now" (never what changed: the device pulls that). The hub keeps, for each stream,
only the newest version it has not sent yet, so a burst of pushes is one poke, and a slow
client never makes the server queue anything.

Limits: at most `per_account` streams an account in this process (a new one closes the
oldest) and `per_process` in all (a new one beyond is refused).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.web.metrics import Metrics


class TooManyStreamsError(Exception):
    """The process holds as many streams as it may."""


class HubClosedError(Exception):
    """The process is stopping: no new streams."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(eq=False)
class Stream:
    """One open stream: what to tell next, and a wake-up for the task that writes it."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    version: int = -1
    """The newest version heard of (-1: none yet)."""
    sent: int = -1
    """The newest version written to the client."""
    heard_at_ms: int = 0
    """When this process heard of `version` (the server's clock, ms since the epoch)."""
    closed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def poke(self, version: int, heard_at_ms: int) -> None:
        if version > self.version:
            self.version, self.heard_at_ms = version, heard_at_ms
            self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()

    @property
    def pending(self) -> bool:
        return not self.closed and self.version > self.sent


class Hub:
    def __init__(self, *, per_account: int, per_process: int, metrics: Metrics) -> None:
        self.per_account = per_account
        self.per_process = per_process
        self.metrics = metrics
        self._by_user: dict[uuid.UUID, list[Stream]] = {}
        self._count = 0
        self.closed = False

    def __len__(self) -> int:
        return self._count

    def open(self, user_id: uuid.UUID, session_id: uuid.UUID) -> Stream:
        """A new stream; the account's oldest closes when it has `per_account` already."""
        if self.closed:
            raise HubClosedError
        mine = self._by_user.setdefault(user_id, [])
        while len(mine) >= self.per_account:
            self._drop(mine[0])
        if self._count >= self.per_process:
            if not mine:
                del self._by_user[user_id]
            raise TooManyStreamsError
        stream = Stream(user_id, session_id)
        mine.append(stream)
        self._count += 1
        self.metrics.streams_open.inc()
        return stream

    def remove(self, stream: Stream) -> None:
        """The stream's task is over (closed, or its client went away)."""
        self._drop(stream)

    def _drop(self, stream: Stream) -> None:
        stream.close()
        mine = self._by_user.get(stream.user_id, [])
        if stream in mine:
            mine.remove(stream)
            self._count -= 1
            self.metrics.streams_open.dec()
            if not mine:
                del self._by_user[stream.user_id]

    def poke(self, user_id: uuid.UUID, version: int) -> None:
        """The account's history reached `version` (a push committed somewhere)."""
        heard = now_ms()
        for stream in self._by_user.get(user_id, ()):
            stream.poke(version, heard)

    def users(self) -> list[uuid.UUID]:
        return list(self._by_user)

    def sessions(self) -> set[uuid.UUID]:
        return {s.session_id for streams in self._by_user.values() for s in streams}

    def end_sessions(self, ended: Iterable[uuid.UUID]) -> int:
        """Close the streams of these sessions; returns how many."""
        gone = set(ended)
        closing = [s for streams in self._by_user.values() for s in streams if s.session_id in gone]
        for stream in closing:
            self._drop(stream)
        return len(closing)

    def close_all(self) -> None:
        """Close every stream, and take no new ones (the process is stopping)."""
        self.closed = True
        for stream in [s for streams in self._by_user.values() for s in streams]:
            self._drop(stream)
