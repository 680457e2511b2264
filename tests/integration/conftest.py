"""Accounts and API fixtures: apps on the test database, sending mail to the test SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings
from tests.api import Api
from tests.mailbox import Mailbox

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
