"""What the benchmarks share: a throw-away database, a running server, premium accounts."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from backend.accounts.passwords import hash_now
from backend.db.server import connect, create_database_if_missing, embedded_server
from testkit.mailbox import smtp_server
from testkit.support import calcapp_env, migrated_database, running_server

PASSWORD = "Bench-Password-1"  # noqa: S105
# The bench servers run in production mode: __Host- cookies.
CSRF_COOKIE = "__Host-csrftoken"
SESSION_COOKIE = "__Host-calcapp_session"
METRICS_TOKEN = "bench-metrics-" + "x" * 20


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(values),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
    }


@contextmanager
def bench_database() -> Iterator[str]:
    """An embedded PostgreSQL in a temporary folder with a migrated database; all removed after."""
    with tempfile.TemporaryDirectory() as folder, embedded_server(Path(folder) / "pg") as server:
        asyncio.run(create_database_if_missing(server, "bench"))
        url = make_url(server).set(database="bench").render_as_string(False)
        yield migrated_database(url)


@contextmanager
def bench_server(database_url: str) -> Iterator[str]:
    """`calcapp serve` in production mode on that database (mail to a local SMTP sink)."""
    with bench_server_process(database_url) as (base_url, _):
        yield base_url


@contextmanager
def production_env(database_url: str, workers: int) -> Iterator[dict[str, str]]:
    """The environment of Calcapp in production mode at log level WARNING on that database,
    with `workers` workers, mailing a local SMTP sink (running while in use)."""
    with smtp_server() as mailbox:
        yield calcapp_env(
            DATABASE_URL=database_url,
            CALCAPP_WORKERS=str(workers),
            CALCAPP_ENV="production",
            CALCAPP_SECRET_KEY="bench-" + "x" * 40,
            CALCAPP_PUBLIC_URL="http://127.0.0.1",
            CALCAPP_LOG_LEVEL="WARNING",
            SMTP_HOST=mailbox.host,
            SMTP_PORT=str(mailbox.port),
            SMTP_SECURITY="none",
            SMTP_ALLOW_PLAINTEXT="1",  # the benchmark's own relay, on loopback
            CALCAPP_METRICS_TOKEN=METRICS_TOKEN,
        )


@contextmanager
def bench_server_process(database_url: str, workers: int = 1) -> Iterator[tuple[str, int]]:
    """The same, with the server's process id, and `workers` uvicorn workers."""
    with production_env(database_url, workers) as env, running_server(env) as (url, process):
        yield url, process.pid


async def create_premium_users(database_url: str, count: int) -> list[tuple[uuid.UUID, str]]:
    """`count` premium accounts sharing one password (bcrypt cost 12, hashed once)."""
    password_hash = hash_now(PASSWORD, 12)
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            """INSERT INTO users (email, password_hash, email_verified)
               SELECT 'bench-' || i || '-' || $2 || '@example.com', $1, true
               FROM generate_series(1, $3) AS i RETURNING id, email""",
            password_hash,
            uuid.uuid4().hex[:6],
            count,
        )
        await conn.execute(
            """INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id,
                   status, price_per_month, current_period_start, current_period_end)
               SELECT id, 'cus_' || id, 'sub_' || id, 'active', 5.00,
                      now(), now() + interval '30 days'
               FROM users WHERE id = ANY($1::uuid[])""",
            [row["id"] for row in rows],
        )
        return [(row["id"], row["email"]) for row in rows]
    finally:
        await conn.close()


@asynccontextmanager
async def csrf_client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its CSRF cookie and header, like the PWA. Production cookies are Secure,
    which httpx keeps off plain http, so the cookie header is written by hand."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        token = (await client.get("/api/v1/auth/csrf")).cookies[CSRF_COOKIE]
        client.cookies.clear()
        client.headers.update({"x-csrftoken": token, "cookie": f"{CSRF_COOKIE}={token}"})
        yield client


async def login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


@asynccontextmanager
async def signed_in(base_url: str, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as `email` (one of `create_premium_users`)."""
    async with csrf_client(base_url) as client:
        response = await login(client, email)
        response.raise_for_status()
        session = response.cookies[SESSION_COOKIE]
        client.headers["cookie"] += f"; {SESSION_COOKIE}={session}"
        yield client
