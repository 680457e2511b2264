"""Accounts and API fixtures: apps on the test database, sending mail to the test SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings
from tests.api import Api
from tests.mailbox import Mailbox
from tests.stripe_support import register_webhook, stripe_env
from tests.support import calcapp_env, running_server
from tests.sync_client import set_premium, stored_user

PUBLIC_URL = "http://calc.test"


@pytest.fixture
def settings(database_url: str, mailbox: Mailbox) -> Settings:
    return Settings(
        database_url=database_url,
        public_url=PUBLIC_URL,
        bcrypt_rounds=4,
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        smtp_security="none",
    )


ApiFactory = Callable[[], AbstractAsyncContextManager[Api]]


@pytest.fixture
def make_api(settings: Settings) -> ApiFactory:
    """Clients of their own (one per browser, say), each on a new app instance."""

    @asynccontextmanager
    async def make() -> AsyncIterator[Api]:
        async with AsyncTestClient(create_app(settings)) as client:
            yield Api(client)

    return make


@pytest.fixture
async def api(make_api: ApiFactory) -> AsyncIterator[Api]:
    async with make_api() as client:
        yield client


@pytest.fixture
def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(scope="session")
def server(database_url: str, mail_env: dict[str, str], stripe_api_base: str) -> Iterator[str]:
    """A real `calcapp serve` process, billing through the emulator, which sends it its
    webhook events. Requests run truly in parallel here (the in-process test client runs one
    request at a time)."""
    env = calcapp_env(DATABASE_URL=database_url, **mail_env, **stripe_env(stripe_api_base))
    with running_server(env) as (base_url, _):
        register_webhook(stripe_api_base, "integration", f"{base_url}/api/v1/billing/webhook")
        yield base_url


@pytest.fixture(scope="session")
def second_server(database_url: str, mail_env: dict[str, str]) -> Iterator[str]:
    """Another `calcapp serve` process on the same database (behind a balancer, say)."""
    with running_server(calcapp_env(DATABASE_URL=database_url, **mail_env)) as (base_url, _):
        yield base_url


@pytest.fixture
def premium_user(server: str, database_url: str) -> Any:
    """A factory of signed-in API clients of one premium account (one per device)."""
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
