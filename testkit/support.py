"""Helpers for tests that run `calcapp` as a real process."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import asyncpg
import httpx

from backend.db import migrations as migrate
from backend.db.server import connect

CALCAPP = [sys.executable, "-m", "backend.cli"]

P = ParamSpec("P")
T = TypeVar("T")


def eventually(
    probe: Callable[[], T | None], *, seconds: float, what: str, every: float = 0.05
) -> T:
    """The first result of `probe` that is not None (nor False), asked every `every` seconds
    for `seconds`: the one polling loop of the tests (for what arrives by itself: a mail, a
    server's health, a webhook's effect). `what` names it in the TimeoutError."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {seconds} s")
        time.sleep(every)


async def eventually_async(
    probe: Callable[[], Coroutine[Any, Any, T | None]],
    *,
    seconds: float,
    what: str,
    every: float = 0.2,
) -> T:
    """`eventually` for an async probe."""
    deadline = time.monotonic() + seconds
    while True:
        found = await probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {seconds} s")
        await asyncio.sleep(every)


def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `function` in a fresh thread, so that code using `asyncio.run` works even while an
    event loop runs in this one (Playwright's sync API keeps one running during e2e tests)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    return in_thread(asyncio.run, coroutine)


def chromium_executable() -> str | None:
    """The browser to drive: CHROMIUM_PATH, the distribution's chromium, or (None)
    the one `python -m playwright install chromium` downloaded."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


def calcapp_env(**overrides: str) -> dict[str, str]:
    """The current environment without Calcapp's own variables, plus `overrides`; one server
    worker unless they say otherwise (it starts faster, and the tests run many servers)."""
    ours = {"DATABASE_URL", "HOST", "PORT"}
    env = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith("CALCAPP_")}
    return {**env, "CALCAPP_WORKERS": "1", **overrides}


def run_calcapp(
    *args: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CALCAPP, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    """Poll the health endpoint until it answers 200, failing fast if the process dies."""

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"calcapp exited with {process.returncode}: {log.read_text()}")
        try:
            return httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        eventually(healthy, seconds=timeout, what=f"{base_url} healthy", every=0.1)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}: {log.read_text()}") from None


@contextmanager
def running_server(
    env: Mapping[str, str], *args: str, port: int | None = None, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`calcapp serve` on a free port; yields its base URL; stopped with Ctrl+C (SIGINT).

    Its output goes to `log`, or to a temporary file (a pipe nobody reads would fill up and
    stall it).
    """
    port = port or free_port()
    with tempfile.TemporaryDirectory() as folder:
        log = log or Path(folder) / "calcapp.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*CALCAPP, "serve", *args],
                env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base_url, process, log)
            yield base_url, process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl+C (SIGINT) unless it ended already, then SIGKILL after 30 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def migrated_database(database: str | Callable[[], str], revision: str | None = None) -> str:
    """A database migrated to `revision` (head by default), the one way the suites build one:
    `database` is its URL, or the `make_database` fixture to make a new one (for tests that
    act on every row of their database)."""
    url = database if isinstance(database, str) else database()
    in_thread(migrate.upgrade, url, revision or "head")
    return url


def assert_one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    """`calcapp` failed as operators are promised: exit 2, one `calcapp: error:` line."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("calcapp: error: "), result.stderr
    assert message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


async def db_rows(database_url: str, query: str, *args: object) -> list[dict[str, Any]]:
    """The rows of one statement on the test database, as dicts."""
    conn = await connect(database_url)
    try:
        return [dict(row) for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


@asynccontextmanager
async def rolled_back(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection inside a transaction that is rolled back at the end."""
    connection = await connect(database_url)
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()
