"""Fixtures shared by tests/ and e2e/: a real PostgreSQL with the migrated schema.

The server is the embedded PostgreSQL, started in a temporary folder for the session, or
the one `DATABASE_URL` points at (CI runs the database tests a second time against the
distribution's PostgreSQL 15 that way). Each session works in databases of its own, created
here and dropped at the end, so a developer's `.data/` is never touched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from backend.db import migrations as migrate
from backend.db.server import connect, embedded_server
from backend.settings import normalize_database_url
from tests.mailbox import Mailbox, smtp_server
from tests.stripe_support import stripe_emulator
from tests.support import in_thread, run_async


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
    url = make_database()
    in_thread(migrate.upgrade, url)
    return url


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection inside a transaction that is rolled back after the test."""
    connection = await connect(database_url)
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


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
