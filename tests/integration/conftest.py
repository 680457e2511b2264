"""Accounts and API fixtures: apps on the test database, sending mail to the test SMTP server;
`calcapp serve` processes for what needs real parallel requests (the toolkit's factory)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings
from testkit.api import PUBLIC_URL, Api, ApiFactory
from testkit.fixtures import CalcappServer
from testkit.mailbox import Mailbox


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
def server(calcapp_server: CalcappServer) -> Iterator[str]:
    """A real `calcapp serve` process, billing through the emulator, which sends it its
    webhook events. Requests run truly in parallel here (the in-process test client runs one
    request at a time)."""
    with calcapp_server(webhook="integration") as base_url:
        yield base_url


@pytest.fixture(scope="session")
def second_server(calcapp_server: CalcappServer) -> Iterator[str]:
    """Another `calcapp serve` process on the same database (behind a balancer, say)."""
    with calcapp_server(billing=False) as base_url:
        yield base_url
