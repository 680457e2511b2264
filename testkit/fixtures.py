"""The fixtures of every suite (tests/, e2e/), loaded by the root conftest.py: a real
PostgreSQL with the migrated schema, the SMTP server, the Stripe emulator, `calcapp serve`
processes (`calcapp_server`), signed-in premium clients (`premium_user`).

The server is the embedded PostgreSQL, started in a temporary folder for the session, or
the one `DATABASE_URL` points at (CI runs the database tests a second time against the
distribution's PostgreSQL 15 that way). Each session works in databases of its own, created
here and dropped at the end, so a developer's `.data/` is never touched.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from backend.db.server import connect, embedded_server
from backend.settings import normalize_database_url
from testkit.api import Api
from testkit.mailbox import Mailbox, smtp_server
from testkit.stripe_support import register_webhook, stripe_emulator, stripe_env
from testkit.support import (
    calcapp_env,
    free_port,
    migrated_database,
    rolled_back,
    run_async,
    running_server,
)
from testkit.sync_client import set_premium, stored_user


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a maintenance database on a running PostgreSQL server."""
    if raw := os.environ.get("DATABASE_URL", "").strip():
        yield normalize_database_url(raw)
        return
    pgdata = Path(tmp_path_factory.mktemp("embedded-pg")) / "pg"
    with embedded_server(pgdata) as url:
        yield url


async def _admin(server_url: str, statement: str) -> None:
    conn = await connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Iterator[Callable[[], str]]:
    """Factory of empty databases on the test server, all dropped when the session ends."""
    created: list[str] = []

    def make() -> str:
        name = f"calcapp_test_{secrets.token_hex(6)}"
        run_async(_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(pg_server_url).set(database=name).render_as_string(False)

    yield make
    for name in created:
        run_async(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[], str]) -> str:
    """A database migrated to head, shared by the session (tests roll back what they write)."""
    return migrated_database(make_database)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection inside a transaction that is rolled back after the test."""
    async with rolled_back(database_url) as connection:
        yield connection


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback; the apps under test send their mail to it."""
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="session")
def mail_env(mailbox: Mailbox) -> dict[str, str]:
    """Environment that points a `calcapp` process at the test SMTP server (and cheap bcrypt)."""
    return {
        "SMTP_HOST": mailbox.host,
        "SMTP_PORT": str(mailbox.port),
        "SMTP_SECURITY": "none",
        "CALCAPP_BCRYPT_ROUNDS": "4",
    }


@pytest.fixture
def fresh_limits(database_url: str) -> None:
    """Forget earlier tests' attempts: they all come from one client address."""
    run_async(_admin(database_url, "DELETE FROM rate_limits"))


@pytest.fixture(scope="session")
def stripe_api_base() -> Iterator[str]:
    """localstripe, the Stripe emulator, on a free loopback port for the whole session."""
    with stripe_emulator() as emulator:
        yield emulator.base


CalcappServer = Callable[..., AbstractContextManager[str]]


@pytest.fixture(scope="session")
def calcapp_server(
    database_url: str, mail_env: dict[str, str], stripe_api_base: str
) -> CalcappServer:
    """Factory of `calcapp serve` processes on the session's database, mailing the test SMTP
    server: `with calcapp_server(**env) as base_url`. Billing goes through the emulator unless
    `billing=False`; `webhook` registers the process for the emulator's events under that name
    (an event goes to every registered endpoint: one per suite); `port` when the environment
    must name it (CALCAPP_PUBLIC_URL)."""

    @contextmanager
    def start(
        *, webhook: str | None = None, billing: bool = True, port: int | None = None, **env: str
    ) -> Iterator[str]:
        stripe = stripe_env(stripe_api_base) if billing else {}
        environment = calcapp_env(DATABASE_URL=database_url, **mail_env, **stripe, **env)
        with running_server(environment, port=port or free_port()) as (base_url, _):
            if webhook is not None:
                endpoint = f"{base_url}/api/v1/billing/webhook"
                register_webhook(stripe_api_base, webhook, endpoint)
            yield base_url

    return start


PremiumDevices = Callable[[], AbstractAsyncContextManager[Api]]


@pytest.fixture
def premium_user(server: str, database_url: str) -> PremiumDevices:
    """A factory of signed-in API clients of one premium account (one per device), on the
    suite's `server` (each suite that uses it defines one); its address is `.email`."""
    email = f"premium-{uuid.uuid4().hex[:10]}@example.com"

    @asynccontextmanager
    async def device_api() -> AsyncIterator[Api]:
        async with httpx.AsyncClient(base_url=server, timeout=30) as client:
            api = Api(client)
            if not await stored_user(database_url, email):
                assert (await api.signup(email)).status_code == 202
                await set_premium(database_url, email, active=True)
            assert (await api.login(email)).status_code == 200
            yield api

    device_api.email = email  # type: ignore[attr-defined]
    return device_api
