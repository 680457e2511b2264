"""Do bcrypt logins stall the server? Health latency with and without 16 concurrent logins.

    .venv/bin/python -m bench.login_load

`calcapp serve` in production mode (bcrypt cost 12) on a throw-away database with 16
accounts; `GET /api/v1/health` is measured back to back for a few seconds: once idle (the
baseline), once while the 16 clients sign in concurrently, over and over. Target: p99 under
50 ms during the logins.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from bench.support import (
    bench_database,
    bench_server,
    create_premium_users,
    csrf_client,
    login,
    percentile,
)

CLIENTS = 16
MEASURE_SECONDS = 6.0


async def health_latencies(client: httpx.AsyncClient, seconds: float) -> list[float]:
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        response = await client.get("/api/v1/health")
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def keep_logging_in(base_url: str, email: str, stop: asyncio.Event) -> int:
    logins = 0
    async with csrf_client(base_url) as client:
        while not stop.is_set():
            response = await login(client, email)
            if response.status_code == 429:  # the per-account limit: this client is done
                break
            response.raise_for_status()
            logins += 1
    return logins


async def run(base_url: str, emails: list[str]) -> dict[str, Any]:
    async with csrf_client(base_url) as client:
        idle = await health_latencies(client, MEASURE_SECONDS)
        stop = asyncio.Event()
        workers = [asyncio.create_task(keep_logging_in(base_url, e, stop)) for e in emails]
        started = time.perf_counter()
        loaded = await health_latencies(client, MEASURE_SECONDS)
        stop.set()
        logins = sum(await asyncio.gather(*workers))
        elapsed = time.perf_counter() - started
    return {
        "idle_p50_ms": percentile(idle, 0.5),
        "idle_p99_ms": percentile(idle, 0.99),
        "loaded_p50_ms": percentile(loaded, 0.5),
        "loaded_p99_ms": percentile(loaded, 0.99),
        "logins": logins,
        "logins_per_second": logins / elapsed,
        "health_requests": len(loaded),
    }


def measure() -> dict[str, Any]:
    with bench_database() as database_url:
        users = asyncio.run(create_premium_users(database_url, CLIENTS))
        with bench_server(database_url) as base_url:
            return asyncio.run(run(base_url, [email for _, email in users]))


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
