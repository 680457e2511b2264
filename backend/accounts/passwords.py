"""Password rules and bcrypt hashing (in worker threads, never on the event loop)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt

T = TypeVar("T")

MIN_LENGTH = 8
MAX_LENGTH = 100
MAX_BYTES = 72  # bcrypt ignores (bcrypt 5 refuses) anything longer
RULES = (
    f"{MIN_LENGTH} to {MAX_LENGTH} characters, with an upper-case letter, "
    "a lower-case letter and a digit"
)


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable for a new password, or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"Password must be {RULES}"
    if len(password.encode()) > MAX_BYTES:
        return f"Password must be at most {MAX_BYTES} bytes (fewer emoji or accented letters)"
    kinds = (str.isupper, str.islower, str.isdigit)  # any script: "Éclair12" is fine
    if not all(any(kind(c) for c in password) for kind in kinds):
        return f"Password must be {RULES}"
    return None


HASHING_NICENESS = 10


def hashing_threads() -> int:
    """One core fewer than the process may use (at least one), so hashing leaves a core to
    the event loop and the database."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


def _lower_priority() -> None:
    """Run this (hashing) thread at a lower scheduling priority: when the CPU is contended,
    requests that need no hashing go first and logins wait. Linux applies it per thread."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class PasswordHasher:
    """bcrypt at a fixed cost, in a small pool of threads of its own.

    Comparing against a dummy hash when there is no user keeps the answer time the same for
    unknown emails and wrong passwords.
    """

    def __init__(self, rounds: int, *, threads: int | None = None) -> None:
        self.rounds = rounds
        self._pool = ThreadPoolExecutor(
            threads or hashing_threads(), thread_name_prefix="bcrypt", initializer=_lower_priority
        )
        self._dummy: bytes | None = None

    async def _run(self, function: Callable[[bytes, bytes], T], password: bytes, other: bytes) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, function, password, other
        )

    async def hash(self, password: str) -> str:
        hashed = await self._run(bcrypt.hashpw, password.encode(), bcrypt.gensalt(self.rounds))
        return hashed.decode()

    async def verify(self, password: str, hashed: str | None) -> bool:
        """True when `password` matches `hashed`; with no hash, spend the same time and fail."""
        candidate = password.encode()
        if len(candidate) > MAX_BYTES:  # never stored, so never a match; still spend the time
            candidate, hashed = candidate[:MAX_BYTES], None
        if hashed is None:
            await self._run(bcrypt.checkpw, candidate, await self._dummy_hash())
            return False
        return await self._run(bcrypt.checkpw, candidate, hashed.encode())

    async def _dummy_hash(self) -> bytes:
        if self._dummy is None:
            salt = bcrypt.gensalt(self.rounds)
            self._dummy = await self._run(bcrypt.hashpw, b"calcapp-dummy-password", salt)
        return self._dummy

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
