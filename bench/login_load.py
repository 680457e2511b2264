"""Do bcrypt logins stall the server? Health latency with and without 16 concurrent logins.

    .venv/bin/python -m bench.login_load

Starts `calcapp serve` in production mode (bcrypt cost 12, mail to a local SMTP sink, the
embedded PostgreSQL in a temporary folder), creates 16 accounts, then measures
`GET /api/v1/health` back to back for a few seconds: once idle (the baseline), once while 16
clients sign in concurrently, over and over. Target: p99 under 50 ms during the logins.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.mailbox import smtp_server
from tests.support import calcapp_env, running_server

CLIENTS = 16
PASSWORD = "Bench-Password-1"  # noqa: S105
MEASURE_SECONDS = 6.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def health_latencies(client: httpx.AsyncClient, seconds: float) -> list[float]:
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        response = await client.get("/api/v1/health")
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


@asynccontextmanager
async def new_client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its CSRF cookie and header, like the PWA. (Production cookies are Secure,
    which httpx keeps off plain http, so the cookie is sent by hand.)"""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        token = (await client.get("/api/v1/auth/csrf")).cookies["csrftoken"]
        client.cookies.clear()
        client.headers.update({"x-csrftoken": token, "cookie": f"csrftoken={token}"})
        yield client


async def keep_logging_in(base_url: str, email: str, stop: asyncio.Event) -> int:
    logins = 0
    async with new_client(base_url) as client:
        while not stop.is_set():
            response = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
            )
            if response.status_code == 429:  # the per-account limit: this client is done
                break
            response.raise_for_status()
            logins += 1
    return logins


async def run(base_url: str) -> dict[str, Any]:
    emails = [f"bench-{i}@example.com" for i in range(CLIENTS)]
    async with new_client(base_url) as client:
        for email in emails:
            signup = await client.post(
                "/api/v1/auth/signup", json={"email": email, "password": PASSWORD}
            )
            signup.raise_for_status()
        idle = await health_latencies(client, MEASURE_SECONDS)

        stop = asyncio.Event()
        workers = [asyncio.create_task(keep_logging_in(base_url, e, stop)) for e in emails]
        started = time.perf_counter()
        loaded = await health_latencies(client, MEASURE_SECONDS)
        stop.set()
        logins = sum(await asyncio.gather(*workers))
        elapsed = time.perf_counter() - started
    return {
        "idle_p50_ms": statistics.median(idle),
        "idle_p99_ms": percentile(idle, 0.99),
        "loaded_p50_ms": statistics.median(loaded),
        "loaded_p99_ms": percentile(loaded, 0.99),
        "logins": logins,
        "logins_per_second": logins / elapsed,
        "health_requests": len(loaded),
    }


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, smtp_server() as mailbox:
        env = calcapp_env(
            CALCAPP_ENV="production",
            CALCAPP_SECRET_KEY="bench-" + "x" * 40,
            CALCAPP_PUBLIC_URL="http://127.0.0.1",
            CALCAPP_DATA_DIR=str(Path(folder) / "data"),
            CALCAPP_LOG_LEVEL="WARNING",
            SMTP_HOST=mailbox.host,
            SMTP_PORT=str(mailbox.port),
            SMTP_SECURITY="none",
        )
        with running_server(env, "--migrate") as (base_url, _):
            return asyncio.run(run(base_url))


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
