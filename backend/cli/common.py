"""What the command groups share: the failure they report, running work on the configured
database, and the argument types."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeAlias, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from backend.accounts.models import User
from backend.accounts.service import live_user
from backend.db.engine import create_engine
from backend.db.server import check_connection, database_url
from backend.ops.errors import OperatorError
from backend.settings import Settings

T = TypeVar("T")
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(OperatorError):
    """A failure the operator can fix, found by the command itself."""


def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` with an engine on the configured database (started if embedded)."""

    async def run(url: str) -> T:
        await check_connection(url)
        engine = create_engine(url, pool_size=1)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    with database_url(settings) as url:
        return asyncio.run(run(url))


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the configured database."""

    async def run(engine: AsyncEngine) -> T:
        async with async_sessionmaker(engine)() as session, session.begin():
            return await work(session)

    return with_engine(settings, run)


def on_connection(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `work` with a connection (no transaction open) on the configured database."""

    async def run(engine: AsyncEngine) -> T:
        async with engine.connect() as conn:
            return await work(conn)

    return with_engine(settings, run)


async def account(db: AsyncSession, email: str) -> User:
    """The live account using `email`, or the command fails."""
    user = await live_user(db, email)
    if user is None:
        raise CommandError(f"no account uses {email}")
    return user


def months(raw: str) -> int:
    """An argument: a number of months, 0 to 1200."""
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 1200:
        raise argparse.ArgumentTypeError(f"not a number of months (0 to 1200): {raw!r}")
    return value


def day(raw: str) -> date:
    """An argument: a date, YYYY-MM-DD."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {raw!r}") from None
